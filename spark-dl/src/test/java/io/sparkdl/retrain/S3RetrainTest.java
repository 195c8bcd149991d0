package io.sparkdl.retrain;

import io.sparkdl.testkit.S3Store;
import io.sparkdl.testkit.TestStore;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link StoreRetrainTest} on S3A against an S3 API on loopback. */
class S3RetrainTest extends StoreRetrainTest {
    @RegisterExtension
    static final S3Store STORE = new S3Store();

    @Override
    protected TestStore store() {
        return STORE;
    }
}
