package io.sparkdl.engine.torch;

import io.sparkdl.nn.NetworkSpec;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * The project's updaters as a few tensor operations on the flat parameter, gradient and state vectors, with
 * DL4J's formulas, so that both engines train alike and the state is one vector to average:
 * <ul>
 *   <li>sgd: {@code u = lr g}; state: none;</li>
 *   <li>momentum ({@link io.sparkdl.nn.Momentum}): {@code v = mu v + g; u = lr v}; state: v;</li>
 *   <li>nesterov (DL4J {@code Nesterovs}): {@code v' = mu v - lr g; u = mu v - (1 + mu) v'}; state: v;</li>
 *   <li>adam (DL4J {@code Adam}, beta1 0.9, beta2 0.999, eps 1e-8): {@code m = b1 m + (1-b1) g;
 *   v = b2 v + (1-b2) g^2; u = lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)}, t = iteration + 1;
 *   state: m then v.</li>
 * </ul>
 * L2 adds {@code l2 w} to the gradient before the updater; weight decay adds {@code 2 lr wd w} to the update
 * after it; both only where the weight mask is 1. The factor 2 is what the ND4J engine does: DL4J M2.1 copies
 * the network-wide {@code WeightDecay} into each layer's regularization list twice (seen in the built
 * configuration and in the parameter step), and the project's tuned {@code weightDecay} values were measured
 * with it.
 * The learning rate comes from the same schedule as on the ND4J engine ({@link NetworkSpec#updater}).
 * Then {@code w -= u}. Batch norm's running statistics get a zero gradient, so no updater moves them.
 * Frozen layers: the {@code trainable} mask (0 there) zeroes their gradient before the updater and their update
 * after it, and the weight mask the network passes is 0 there too, so neither state nor L2 nor weight decay moves
 * them.
 */
public final class FlatUpdater implements AutoCloseable {
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPS = 1e-8;

    private final String kind;
    private final IUpdater schedule;
    private final double momentum;
    private final double l2;
    private final double weightDecay;
    private final int numParams;
    private final Tensor state;
    private int iteration;
    private int epoch;

    FlatUpdater(NetworkSpec.Settings s, int numParams) {
        this.kind = s.updater();
        this.schedule = NetworkSpec.updater(s); // validates the updater name and parses the schedule
        this.momentum = s.momentum();
        this.l2 = s.l2();
        this.weightDecay = s.weightDecay();
        this.numParams = numParams;
        int size = stateSize();
        state = size == 0 ? null : TorchNetwork.persistent(TorchNetwork.fromArray(new float[size], size));
    }

    /** The state vector's length: 0 (sgd), numParams (momentum, nesterov) or 2 numParams (adam). */
    public int stateSize() {
        return switch (kind) {
            case "sgd" -> 0;
            case "momentum", "nesterov" -> numParams;
            case "adam" -> 2 * numParams;
            default -> throw new AssertionError(kind);
        };
    }

    public float[] state() {
        return state == null ? new float[0] : TorchNetwork.toArray(state);
    }

    public void setState(float[] s) {
        if (s.length != stateSize()) {
            throw new IllegalArgumentException("updater state for " + kind + " has " + stateSize()
                    + " values but " + s.length + " were given");
        }
        if (state != null) {
            TorchRuntime.write(state, s, s.length);
        }
    }

    /** Steps done so far (Adam's bias correction and the learning rate schedule read it). */
    public int iteration() {
        return iteration;
    }

    public void setIteration(int iteration) {
        this.iteration = iteration;
    }

    public int epoch() {
        return epoch;
    }

    public void setEpoch(int epoch) {
        this.epoch = epoch;
    }

    /**
     * One step; call without autograd recording. Modifies {@code grad} (L2, frozen entries).
     *
     * @param mask      1 where L2 and weight decay apply
     * @param trainable 1 where parameters train, 0 where frozen; null: all train
     */
    void step(Tensor w, Tensor grad, Tensor mask, Tensor trainable) {
        double lr = schedule.getLearningRate(iteration, epoch);
        if (trainable != null) {
            grad.mul_(trainable);
        }
        if (l2 > 0) {
            grad.add_(w.mul(mask), new Scalar(l2));
        }
        Tensor update = switch (kind) {
            case "sgd" -> grad.mul(new Scalar(lr));
            case "momentum" -> {
                state.mul_(new Scalar(momentum)).add_(grad);
                yield state.mul(new Scalar(lr));
            }
            case "nesterov" -> {
                Tensor previous = state.mul(new Scalar(momentum));
                state.mul_(new Scalar(momentum)).sub_(grad, new Scalar(lr));
                yield previous.sub_(state, new Scalar(1 + momentum));
            }
            case "adam" -> {
                Tensor m = state.narrow(0, 0, numParams);
                Tensor v = state.narrow(0, numParams, numParams);
                m.mul_(new Scalar(BETA1)).add_(grad, new Scalar(1 - BETA1));
                v.mul_(new Scalar(BETA2)).addcmul_(grad, grad, new Scalar(1 - BETA2));
                double alpha = lr * Math.sqrt(1 - Math.pow(BETA2, iteration + 1)) / (1 - Math.pow(BETA1, iteration + 1));
                yield m.mul(new Scalar(alpha)).div_(v.sqrt().add_(new Scalar(EPS)));
            }
            default -> throw new AssertionError(kind);
        };
        if (weightDecay > 0) {
            update.add_(w.mul(mask), new Scalar(2 * lr * weightDecay));
        }
        if (trainable != null) {
            update.mul_(trainable);
        }
        w.sub_(update);
        iteration++;
    }

    @Override
    public void close() {
        if (state != null) {
            state.releaseReference();
        }
    }
}
