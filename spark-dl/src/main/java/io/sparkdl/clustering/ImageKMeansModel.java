package io.sparkdl.clustering;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.io.LegacyModelData;
import io.sparkdl.io.ModelData;
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

    // ---- persistence: metadata/ (params), data/ (Parquet, one row: centres k x d row-major, cluster sizes,
    //      training cost, iterations)

    /** The columns of {@code data/}. */
    static final StructType DATA_SCHEMA = new StructType()
            .add("clusterCenters", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
            .add("clusterSizes", DataTypes.createArrayType(DataTypes.LongType, false), false)
            .add("trainingCost", DataTypes.DoubleType, false)
            .add("iterations", DataTypes.IntegerType, false);

    @Override
    public MLWriter write() {
        return new MLWriter() {
            @Override
            public void saveImpl(String path) {
                SparkSession spark = sparkSession();
                SparkMLInternals.saveMetadata(ImageKMeansModel.this, path, spark.sparkContext());
                ModelData.write(spark, path + "/" + ModelData.DATA, DATA_SCHEMA, List.of(
                        org.apache.spark.sql.RowFactory.create(ModelData.flatten(centers), clusterSizes, trainingCost,
                                iterations)));
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
                org.apache.hadoop.conf.Configuration hc = spark.sparkContext().hadoopConfiguration();
                LegacyModelData.KMeans d;
                if (LegacyModelData.isLegacy(path, "kmeans.bin", hc)) {
                    d = LegacyModelData.kMeans(path, hc);
                } else {
                    String dir = path + "/" + ModelData.DATA;
                    Row r = ModelData.readOne(spark, dir, DATA_SCHEMA);
                    long[] sizes = ModelData.longs(r, "clusterSizes", dir);
                    ModelData.require(sizes.length > 0, dir, "k > 0 cluster sizes");
                    d = new LegacyModelData.KMeans(ModelData.matrix(r, "clusterCenters", sizes.length, dir), sizes,
                            (Double) ModelData.value(r, "trainingCost", dir),
                            (Integer) ModelData.value(r, "iterations", dir));
                }
                ImageKMeansModel m = new ImageKMeansModel(meta.uid(), d.centers(), d.trainingCost(), d.sizes(),
                        d.iterations());
                meta.applyParams(m);
                return m;
            }
        };
    }

    public static ImageKMeansModel load(String path) {
        return read().load(path);
    }
}
