package io.sparkdl.retrain;

import io.sparkdl.testkit.HdfsStore;
import io.sparkdl.testkit.TestStore;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link StoreRetrainTest} on an in-process HDFS. */
class HdfsRetrainTest extends StoreRetrainTest {
    @RegisterExtension
    static final HdfsStore STORE = new HdfsStore();

    @Override
    protected TestStore store() {
        return STORE;
    }
}
