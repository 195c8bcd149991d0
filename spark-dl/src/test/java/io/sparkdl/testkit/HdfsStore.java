package io.sparkdl.testkit;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** An in-process HDFS (one NameNode, one DataNode, on 127.0.0.1, data in a temp folder). */
public final class HdfsStore extends TestStore {
    private MiniDFSCluster cluster;
    private Path base;

    @Override
    protected Map<String, String> start() throws Exception {
        base = Files.createTempDirectory("spark-dl-hdfs");
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toString());
        cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        cluster.waitActive();
        return Map.of("dfs.replication", "1"); // one DataNode
    }

    @Override
    protected void stop() throws Exception {
        if (cluster != null) {
            cluster.shutdown(true);
        }
        org.apache.commons.io.FileUtils.deleteQuietly(base.toFile());
    }

    @Override
    public String root() {
        return "hdfs://127.0.0.1:" + cluster.getNameNodePort();
    }
}
