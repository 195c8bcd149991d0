package io.sparkdl.clustering;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.io.HadoopFiles;
import io.sparkdl.io.SparkMLInternals;
import io.sparkdl.linalg.BatchIterator;
import io.sparkdl.linalg.RowBlocks;
import io.sparkdl.param.DeclaredParams;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;

/**
 * A fitted {@link ImageKMeans}: the centres, the training cost (sum of squared distances of the rows to
 * their centres, i.e. inertia, for the final centres), the cluster sizes and the iterations run.
 * {@code transform} adds the cluster index and the Euclidean distance to that cluster's centre.
 */
public class ImageKMeansModel extends Model<ImageKMeansModel> implements ImageKMeansParams<ImageKMeansModel>,
        MLWritable {
    private final String uid;
    private final double[][] centers;
    private final double trainingCost;
    private final long[] clusterSizes;
    private final int iterations;

    private final DeclaredParams declared;

    ImageKMeansModel(String uid, double[][] centers, double trainingCost, long[] clusterSizes, int iterations) {
        this.uid = uid;
        this.centers = centers;
        this.trainingCost = trainingCost;
        this.clusterSizes = clusterSizes;
        this.iterations = iterations;
        declared = ImageKMeansParams.declare(this);
    }

    @Override
    public String uid() {
        return uid;
    }

    @Override
    public DeclaredParams declared() {
        return declared;
    }

    public int k() {
        return centers.length;
    }

    public Vector[] clusterCenters() {
        Vector[] v = new Vector[centers.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = Vectors.dense(centers[i].clone());
        }
        return v;
    }

    /** Sum of squared distances of the training rows to their nearest centre (inertia). */
    public double trainingCost() {
        return trainingCost;
    }

    public long[] clusterSizes() {
        return clusterSizes.clone();
    }

    public int iterations() {
        return iterations;
    }

    @Override
    public StructType transformSchema(StructType schema) {
        return validateAndTransformSchema(schema);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        Nd4jBackend.init();
        int k = centers.length;
        int d = centers[0].length;
        Broadcast<float[]> bc = JavaSparkContext.fromSparkContext(dataset.sparkSession().sparkContext())
                .broadcast(ImageKMeans.flatten(centers));
        int idx = dataset.schema().fieldIndex(getFeaturesCol());
        int nIn = dataset.schema().size();
        String col = getFeaturesCol();
        return dataset.toDF().mapPartitions((org.apache.spark.api.java.function.MapPartitionsFunction<Row, Row>)
                rows -> {
                    INDArray[] ca = ImageKMeans.centerArrays(bc.value(), k, d);
                    return new BatchIterator(rows, 1024, batch -> {
                        RowBlocks.Packed packed = RowBlocks.pack(batch, idx, col, d);
                        int[] slot = packed.slots();
                        long[] best = new long[0];
                        double[] dist = new double[0];
                        if (packed.block() != null) {
                            RowBlocks.Block blk = packed.block();
                            INDArray sq = ImageKMeans.sqDistances(blk, blk.matrix(), ca[0], ca[1]);
                            best = Nd4j.argMin(sq, 1).toLongVector();
                            dist = sq.min(1).toDoubleVector();
                        }
                        List<Row> outRows = new ArrayList<>(batch.size());
                        for (int i = 0; i < batch.size(); i++) {
                            outRows.add(slot[i] < 0 ? BatchIterator.append(batch.get(i), nIn, null, null)
                                    : BatchIterator.append(batch.get(i), nIn, (int) best[slot[i]],
                                    Math.sqrt(Math.max(0, dist[slot[i]]))));
                        }
                        return outRows;
                    });
                }, Encoders.row(out));
    }

    @Override
    public ImageKMeansModel copy(ParamMap extra) {
        return copyValues(new ImageKMeansModel(uid, centers, trainingCost, clusterSizes, iterations), extra)
                .setParent(parent());
    }

    // ---- persistence: metadata/ (params), data/kmeans.bin (cost, iterations, sizes, centres)

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                SparkSession spark = sparkSession();
                SparkMLInternals.saveMetadata(ImageKMeansModel.this, path, spark.sparkContext());
                double[][] a = new double[2 + centers.length][];
                a[0] = new double[]{trainingCost, iterations};
                a[1] = new double[clusterSizes.length];
                for (int i = 0; i < clusterSizes.length; i++) {
                    a[1][i] = clusterSizes[i];
                }
                System.arraycopy(centers, 0, a, 2, centers.length);
                HadoopFiles.writeArrays(path + "/data/kmeans.bin", spark.sparkContext().hadoopConfiguration(), a);
            }
        };
    }

    public static MLReader<ImageKMeansModel> read() {
        return new MLReader<>() {
            @Override
            public ImageKMeansModel load(String path) {
                SparkSession spark = sparkSession();
                SparkMLInternals.Metadata meta = SparkMLInternals.loadMetadata(path, spark.sparkContext(),
                        ImageKMeansModel.class);
                String file = path + "/data/kmeans.bin";
                double[][] a = HadoopFiles.readArrays(file, spark.sparkContext().hadoopConfiguration());
                HadoopFiles.require(a.length >= 3 && a[0].length == 2 && a[1].length == a.length - 2
                        && java.util.Arrays.stream(a, 2, a.length).allMatch(c -> c.length == a[2].length
                        && c.length > 0), file, "[cost, iterations], k cluster sizes and k centres of one length");
                long[] sizes = new long[a[1].length];
                for (int i = 0; i < sizes.length; i++) {
                    sizes[i] = (long) a[1][i];
                }
                ImageKMeansModel m = new ImageKMeansModel(meta.uid(), java.util.Arrays.copyOfRange(a, 2, a.length),
                        a[0][0], sizes, (int) a[0][1]);
                meta.applyParams(m);
                return m;
            }
        };
    }

    public static ImageKMeansModel load(String path) {
        return read().load(path);
    }
}
