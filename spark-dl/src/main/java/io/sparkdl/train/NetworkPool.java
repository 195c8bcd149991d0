package io.sparkdl.train;

import io.sparkdl.backend.Nd4jBackend;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Executor-side cache of built networks, so a task sets weights into an existing network instead of
 * rebuilding it from JSON every round. Networks are not thread-safe: each task borrows one and gives it
 * back. Only the few most recent keys (training runs, models) are kept.
 */
public final class NetworkPool {
    private static final int MAX_KEYS = 4;
    private static final Map<String, Deque<MultiLayerNetwork>> POOL = new LinkedHashMap<>(16, 0.75f, true);

    private NetworkPool() {
    }

    public static MultiLayerNetwork borrow(String key, String configurationJson) {
        return borrow(key, configurationJson, null);
    }

    /**
     * Like {@link #borrow(String, String)}, but a network built here gets {@code initialParams}; for keys
     * whose weights never change (a fitted model), pooled networks then need no weights set again.
     */
    public static MultiLayerNetwork borrow(String key, String configurationJson, float[] initialParams) {
        synchronized (POOL) {
            Deque<MultiLayerNetwork> d = POOL.get(key);
            if (d != null && !d.isEmpty()) {
                return d.pop();
            }
        }
        Nd4jBackend.init();
        MultiLayerNetwork net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(configurationJson));
        net.init();
        if (initialParams != null) {
            net.setParams(org.nd4j.linalg.factory.Nd4j.createFromArray(initialParams).reshape(1, initialParams.length));
        }
        return net;
    }

    public static void giveBack(String key, MultiLayerNetwork net) {
        synchronized (POOL) {
            POOL.computeIfAbsent(key, k -> new ArrayDeque<>()).push(net);
            if (POOL.size() > MAX_KEYS) {
                Iterator<String> it = POOL.keySet().iterator();
                it.next();
                it.remove();
            }
        }
    }
}
