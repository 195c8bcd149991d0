package io.sparkdl.io;

import io.sparkdl.testkit.HdfsStore;
import io.sparkdl.testkit.TestStore;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link StoreRoundTripTest} on an in-process HDFS. */
class HdfsRoundTripTest extends StoreRoundTripTest {
    @RegisterExtension
    static final HdfsStore STORE = new HdfsStore();

    @Override
    protected TestStore store() {
        return STORE;
    }
}
