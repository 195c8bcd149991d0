package io.sparkdl.io;

import io.sparkdl.testkit.S3Store;
import io.sparkdl.testkit.TestStore;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link StoreRoundTripTest} on S3A against an S3 API on loopback. */
class S3RoundTripTest extends StoreRoundTripTest {
    @RegisterExtension
    static final S3Store STORE = new S3Store();

    @Override
    protected TestStore store() {
        return STORE;
    }
}
