package io.sparkdl.testkit;

import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.TransientApiMetadata;
import org.jclouds.blobstore.BlobStoreContext;

import java.net.URI;
import java.util.Map;
import java.util.UUID;

/**
 * An S3 API on 127.0.0.1 (s3proxy over jclouds' in-memory blob store) reached through Hadoop's S3A, with
 * one fresh bucket. The S3A settings are per bucket ({@code fs.s3a.bucket.NAME.*}), so nothing else changes.
 */
public final class S3Store extends TestStore {
    private static final String ACCESS = "spark-dl-test";
    private static final String SECRET = "spark-dl-test-secret";
    private final String bucket = "lake-" + UUID.randomUUID().toString().substring(0, 8);
    private BlobStoreContext blobs;
    private S3Proxy proxy;

    @Override
    protected Map<String, String> start() throws Exception {
        // by API metadata, not by name: a lookup by name loads every provider s3proxy lists, Azure's included,
        // whose jclouds classes are excluded from the test classpath
        blobs = ContextBuilder.newBuilder(new TransientApiMetadata()).credentials("identity", "credential")
                .build(BlobStoreContext.class);
        proxy = S3Proxy.builder().blobStore(blobs.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS, SECRET).build();
        proxy.start();
        for (int i = 0; i < 1000 && !"STARTED".equals(proxy.getState()); i++) {
            Thread.sleep(10);
        }
        blobs.getBlobStore().createContainerInLocation(null, bucket);
        Map<String, String> c = new java.util.HashMap<>();
        String p = "fs.s3a.bucket." + bucket + ".";
        c.put(p + "endpoint", "http://127.0.0.1:" + proxy.getPort());
        c.put(p + "endpoint.region", "us-east-1");
        c.put(p + "path.style.access", "true");
        c.put(p + "connection.ssl.enabled", "false");
        c.put(p + "aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
        c.put(p + "access.key", ACCESS);
        c.put(p + "secret.key", SECRET);
        // s3proxy's in-memory store does not take multi-object DELETE requests
        c.put(p + "multiobjectdelete.enable", "false");
        c.put(p + "attempts.maximum", "2");
        // s3proxy answers 500 (real S3: 412) to a read of an object replaced since it was opened; S3A's own
        // retries of it (7, backing off from 500 ms) would take minutes, and HadoopFiles.readString opens again
        c.put(p + "retry.limit", "1");
        c.put(p + "retry.interval", "10ms");
        return c;
    }

    @Override
    protected void stop() throws Exception {
        if (proxy != null) {
            proxy.stop();
        }
        if (blobs != null) {
            blobs.close();
        }
    }

    @Override
    public String root() {
        return "s3a://" + bucket;
    }
}
