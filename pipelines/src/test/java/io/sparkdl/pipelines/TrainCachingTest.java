package io.sparkdl.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerUnpersistRDD;
import org.apache.spark.scheduler.StageInfo;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.RDDInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static io.sparkdl.pipelines.SparkDlCliTest.JSON;
import static io.sparkdl.pipelines.SparkDlCliTest.copyClass;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train} keeps one cached copy of the decoded images during the epochs (issue 17): the rows Jobs.load
 * cached to count them and list bad files are unpersisted once CnnClassifier has its training blocks.
 */
class TrainCachingTest {
    @TempDir
    static Path tmp;

    /** Spark's events in the order they were posted: "E" an epoch's job, "U id" an unpersisted RDD. */
    static final class Events extends SparkListener {
        final List<String> order = Collections.synchronizedList(new ArrayList<>());
        /** Ids of the cached Datasets' RDDs (named by their plan; RDDs of Java code carry their class name). */
        final Set<Integer> datasetCaches = Collections.synchronizedSet(new HashSet<>());

        @Override
        public void onJobStart(SparkListenerJobStart job) {
            // the caches made before the epochs (a report's predictions are cached after them)
            for (scala.collection.Iterator<StageInfo> st = job.stageInfos().iterator();
                 st.hasNext() && !order.contains("E"); ) {
                for (scala.collection.Iterator<RDDInfo> it = st.next().rddInfos().iterator(); it.hasNext(); ) {
                    RDDInfo r = it.next();
                    if (r.storageLevel().isValid() && !r.name().matches("\\w*RDD")) {
                        datasetCaches.add(r.id());
                    }
                }
            }
            String d = job.properties() == null ? null : job.properties().getProperty("spark.job.description");
            if (d != null && d.startsWith("spark-dl train: epoch")) {
                order.add("E");
            }
        }

        @Override
        public void onUnpersistRDD(SparkListenerUnpersistRDD u) {
            order.add("U " + u.rddId());
        }
    }

    @Test
    void decodedRowsAreUnpersistedBeforeTheFirstEpoch() throws Exception {
        Path data = tmp.resolve("data");
        for (String c : List.of("bag", "coat", "dress")) {
            copyClass(c, data, 20);
        }
        Files.write(data.resolve("coat/broken.png"), new byte[]{1, 2, 3});
        SparkSession spark = SparkSession.builder().master("local[2]").appName("spark-dl train")
                .config("spark.ui.enabled", "false").getOrCreate();
        Events events = new Events();
        spark.sparkContext().addSparkListener(events);
        Path metrics = tmp.resolve("train.json");
        // train stops the session it got (this one) when it is done; the listener has its events by then
        assertEquals(0, SparkDl.run(new String[]{"train", "--data", data.toString(), "--model",
                tmp.resolve("model").toString(), "--epochs", "2", "--master", "local[2]", "--seed", "5",
                "--validation-fraction", "0.2", "--metrics-json", metrics.toString(), "--report-dir",
                tmp.resolve("report").toString()}));
        JsonNode m = JSON.readTree(metrics.toFile());
        assertEquals(60, m.get("numImages").asInt());
        assertEquals(1, m.get("badFiles").size(), "the broken file is listed: " + m.get("badFiles"));
        assertEquals("validation", m.get("evaluatedOn").asText());
        assertTrue(Files.readString(tmp.resolve("report/index.html")).contains("broken.png"));

        List<String> order = new ArrayList<>(events.order);
        int firstEpoch = order.indexOf("E");
        assertTrue(firstEpoch > 0, "epoch jobs seen: " + order);
        Set<Integer> rows = new HashSet<>(events.datasetCaches);
        assertFalse(rows.isEmpty(), "the decoded rows were cached while loading");
        Set<Integer> goneBefore = new HashSet<>();
        for (String e : order.subList(0, firstEpoch)) {
            if (e.startsWith("U ")) {
                goneBefore.add(Integer.parseInt(e.substring(2)));
            }
        }
        assertTrue(goneBefore.containsAll(rows), "cached rows " + rows + " still cached at the first epoch: "
                + order);
    }
}
