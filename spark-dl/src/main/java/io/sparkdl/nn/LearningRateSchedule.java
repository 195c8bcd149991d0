package io.sparkdl.nn;

import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Locale;

/**
 * Learning-rate schedules by epoch, written as the command line and the {@code lrSchedule} param take
 * them:
 * <ul>
 *   <li>{@code ""} or {@code constant}: the learning rate throughout;</li>
 *   <li>{@code step:EVERY:FACTOR}: multiplied by FACTOR every EVERY epochs ({@code step:5:0.5});</li>
 *   <li>{@code exp:GAMMA}: multiplied by GAMMA after every epoch ({@code exp:0.9});</li>
 *   <li>{@code cosine} or {@code cosine:MIN_FRACTION}: cosine annealing from the learning rate at the first
 *       epoch to MIN_FRACTION (default 0) of it after the last.</li>
 * </ul>
 * Epochs count from 0, as DL4J's schedules see them.
 */
public final class LearningRateSchedule {
    private LearningRateSchedule() {
    }

    /** Throws IllegalArgumentException naming what is wrong with {@code spec}. */
    public static void validate(String spec) {
        parse(spec, 1.0, 1);
    }

    /** The DL4J schedule for {@code spec}, or null for a constant rate. */
    public static ISchedule parse(String spec, double learningRate, int epochs) {
        if (spec == null || spec.isBlank() || spec.trim().equalsIgnoreCase("constant")) {
            return null;
        }
        String[] p = spec.trim().toLowerCase(Locale.ROOT).split(":");
        try {
            switch (p[0]) {
                case "step" -> {
                    if (p.length != 3) {
                        break;
                    }
                    int every = Integer.parseInt(p[1]);
                    double factor = Double.parseDouble(p[2]);
                    if (every < 1 || !(factor > 0)) {
                        throw new IllegalArgumentException("lr schedule '" + spec
                                + "': EVERY must be >= 1 epochs and FACTOR > 0");
                    }
                    return new StepSchedule(ScheduleType.EPOCH, learningRate, factor, every);
                }
                case "exp" -> {
                    if (p.length != 2) {
                        break;
                    }
                    double gamma = Double.parseDouble(p[1]);
                    if (!(gamma > 0)) {
                        throw new IllegalArgumentException("lr schedule '" + spec + "': GAMMA must be > 0");
                    }
                    return new ExponentialSchedule(ScheduleType.EPOCH, learningRate, gamma);
                }
                case "cosine" -> {
                    if (p.length > 2) {
                        break;
                    }
                    double min = p.length == 2 ? Double.parseDouble(p[1]) : 0.0;
                    if (!(min >= 0 && min < 1)) {
                        throw new IllegalArgumentException("lr schedule '" + spec
                                + "': MIN_FRACTION must be in [0, 1)");
                    }
                    return new Cosine(learningRate, min * learningRate, Math.max(1, epochs));
                }
                default -> {
                }
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("lr schedule '" + spec + "' has a value that is not a number");
        }
        throw new IllegalArgumentException("lr schedule '" + spec
                + "' is not one of constant, step:EVERY:FACTOR, exp:GAMMA, cosine[:MIN_FRACTION]");
    }

    /**
     * Cosine annealing by epoch: {@code min + (initial - min) (1 + cos(pi epoch / epochs)) / 2}, so epoch 0
     * trains at the initial rate and the last epoch close to {@code min}.
     */
    public static final class Cosine implements ISchedule {
        private final double initial;
        private final double min;
        private final int epochs;

        public Cosine(@JsonProperty("initial") double initial, @JsonProperty("min") double min,
                      @JsonProperty("epochs") int epochs) {
            this.initial = initial;
            this.min = min;
            this.epochs = epochs;
        }

        @JsonProperty("initial")
        public double getInitial() { return initial; }

        @JsonProperty("min")
        public double getMin() { return min; }

        @JsonProperty("epochs")
        public int getEpochs() { return epochs; }

        @Override
        public double valueAt(int iteration, int epoch) {
            double t = Math.min(1.0, (double) epoch / epochs);
            return min + (initial - min) * 0.5 * (1 + Math.cos(Math.PI * t));
        }

        @Override
        public ISchedule clone() {
            return new Cosine(initial, min, epochs);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Cosine c && c.initial == initial && c.min == min && c.epochs == epochs;
        }

        @Override
        public int hashCode() {
            return Double.hashCode(initial) * 31 + Double.hashCode(min) * 7 + epochs;
        }
    }
}
