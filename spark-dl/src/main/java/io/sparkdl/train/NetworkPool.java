package io.sparkdl.train;

import io.sparkdl.backend.Nd4jBackend;
import io.sparkdl.engine.EngineNetwork;
import io.sparkdl.engine.EngineSpec;
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
    private static final Map<String, Deque<Object>> POOL = new LinkedHashMap<>(16, 0.75f, true);

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
        MultiLayerNetwork pooled = take(key);
        if (pooled != null) {
            return pooled;
        }
        Nd4jBackend.init();
        MultiLayerNetwork net = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(configurationJson));
        net.init();
        if (initialParams != null) {
            net.setParams(org.nd4j.linalg.factory.Nd4j.createFromArray(initialParams).reshape(1, initialParams.length));
        }
        return net;
    }

    /** A pooled network of either engine for {@code key}, or a new one from {@code spec}. */
    public static EngineNetwork borrow(String key, EngineSpec spec) {
        EngineNetwork pooled = take(key);
        return pooled != null ? pooled : spec.build();
    }

    /**
     * A pooled inference network of {@code spec}'s engine for {@code key}, or a new one from {@code spec} with
     * {@code params} set (a fitted model's weights never change, so pooled ones already hold them).
     */
    public static EngineNetwork borrow(String key, EngineSpec spec, float[] params) {
        EngineNetwork pooled = take(key);
        if (pooled != null) {
            return pooled;
        }
        EngineNetwork net = spec.build();
        try {
            if (net.numParams() != params.length) {
                throw new IllegalArgumentException("the " + spec.engine() + " network of " + spec.arch() + " has "
                        + net.numParams() + " parameters but the model has " + params.length);
            }
            net.setParams(params);
        } catch (RuntimeException e) {
            net.close();
            throw e;
        }
        return net;
    }

    @SuppressWarnings("unchecked")
    private static <T> T take(String key) {
        synchronized (POOL) {
            Deque<Object> d = POOL.get(key);
            return d != null && !d.isEmpty() ? (T) d.pop() : null;
        }
    }

    public static void giveBack(String key, MultiLayerNetwork net) {
        put(key, net);
    }

    public static void giveBack(String key, EngineNetwork net) {
        put(key, net);
    }

    private static void put(String key, Object net) {
        synchronized (POOL) {
            POOL.computeIfAbsent(key, k -> new ArrayDeque<>()).push(net);
            if (POOL.size() > MAX_KEYS) {
                Iterator<Map.Entry<String, Deque<Object>>> it = POOL.entrySet().iterator();
                // torch networks hold off-heap tensors: free them with the key
                for (Object evicted : it.next().getValue()) {
                    if (evicted instanceof EngineNetwork e) {
                        e.close();
                    }
                }
                it.remove();
            }
        }
    }
}
