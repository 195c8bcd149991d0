// Compiled and run by ScalaUsageTest with the Scala 2.12 compiler: spark-dl from Scala, no shims.
import io.sparkdl.classification.{CnnClassifier, CnnClassifierModel}
import io.sparkdl.image.{ImageDecoder, ImageSources}
import org.apache.spark.ml.{Pipeline, PipelineModel, PipelineStage}
import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.functions.col

object ScalaPipeline {
  /** args: test-data folder, output folder; returns the reloaded model's accuracy on its training data. */
  def run(spark: SparkSession, data: String, out: String): Double = {
    val files = ImageSources.readFolder(spark, data).where(col("label").isin("bag", "trouser"))
    val pipeline = new Pipeline().setStages(Array[PipelineStage](
      new ImageDecoder().setSize(28, 28).setChannels(1).setHandleInvalid("skip"),
      new CnnClassifier().setEpochs(2).setBatchSize(32).setNumWorkers(2).setSeed(5L)))
    val model: PipelineModel = pipeline.fit(files)
    val cnn = model.stages(1).asInstanceOf[CnnClassifierModel]
    cnn.write.overwrite().save(out + "/cnn")
    val back: CnnClassifierModel = CnnClassifierModel.load(out + "/cnn")
    require(back.labels.sameElements(Array("bag", "trouser")), back.labels.mkString(","))
    val decoded = model.stages(0).transform(files)
    val scored = back.setPredictedLabelCol("guess").transform(decoded)
    scored.where(col("guess") === col("label")).count().toDouble / scored.count()
  }
}
