package io.sparkdl.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;

/**
 * Classic (heavy-ball) SGD with momentum, as in the course material and PyTorch's {@code SGD(momentum=m)}:
 * {@code v = m*v + g; w -= lr*v}. DL4J ships only the Nesterov variant ({@code Nesterovs}).
 * The velocity is the updater state, so parameter averaging averages it like Adam's moments.
 */
public class Momentum implements IUpdater {
    private double learningRate = 0.01;
    private double momentum = 0.9;
    private ISchedule learningRateSchedule;

    public Momentum() {
    }

    public Momentum(double learningRate, double momentum) {
        this.learningRate = learningRate;
        this.momentum = momentum;
    }

    public double getLearningRate() { return learningRate; }
    public void setLearningRate(double v) { learningRate = v; }
    public double getMomentum() { return momentum; }
    public void setMomentum(double v) { momentum = v; }
    public ISchedule getLearningRateSchedule() { return learningRateSchedule; }
    public void setLearningRateSchedule(ISchedule s) { learningRateSchedule = s; }

    @Override
    public long stateSize(long numParams) {
        return numParams;
    }

    @Override
    public GradientUpdater instantiate(INDArray viewArray, boolean initializeViewArray) {
        Updater u = new Updater(this);
        u.setStateViewArray(viewArray, viewArray.shape(), viewArray.ordering(), initializeViewArray);
        return u;
    }

    @Override
    public GradientUpdater instantiate(Map<String, INDArray> state, boolean initialize) {
        Updater u = new Updater(this);
        u.setState(state, initialize);
        return u;
    }

    @Override
    public Momentum clone() {
        Momentum m = new Momentum(learningRate, momentum);
        m.learningRateSchedule = learningRateSchedule == null ? null : learningRateSchedule.clone();
        return m;
    }

    @Override
    public double getLearningRate(int iteration, int epoch) {
        return learningRateSchedule != null ? learningRateSchedule.valueAt(iteration, epoch) : learningRate;
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public void setLrAndSchedule(double lr, ISchedule schedule) {
        learningRate = lr;
        learningRateSchedule = schedule;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Momentum m && m.learningRate == learningRate && m.momentum == momentum
                && Objects.equals(m.learningRateSchedule, learningRateSchedule);
    }

    @Override
    public int hashCode() {
        return Objects.hash(learningRate, momentum, learningRateSchedule);
    }

    /** The per-layer state: one velocity value per parameter. */
    static final class Updater implements GradientUpdater<Momentum> {
        static final String V = "V";
        private final Momentum config;
        private INDArray v;

        Updater(Momentum config) {
            this.config = config;
        }

        @Override
        public Momentum getConfig() {
            return config;
        }

        @Override
        public void setState(Map<String, INDArray> state, boolean initialize) {
            if (state == null || !state.containsKey(V)) {
                throw new IllegalStateException("Momentum updater state must hold '" + V + "'");
            }
            v = state.get(V);
            if (initialize) {
                v.assign(0);
            }
        }

        @Override
        public Map<String, INDArray> getState() {
            return Collections.singletonMap(V, v);
        }

        @Override
        public void setStateViewArray(INDArray viewArray, long[] gradientShape, char order, boolean initialize) {
            if (initialize) {
                viewArray.assign(0);
            }
            v = viewArray.reshape(order, gradientShape);
        }

        @Override
        public void applyUpdater(INDArray gradient, int iteration, int epoch) {
            // DL4J subtracts the returned "gradient" from the parameters: hand back lr * v.
            double lr = config.getLearningRate(iteration, epoch);
            v.muli(config.momentum).addi(gradient);
            gradient.assign(v).muli(lr);
        }
    }
}
