package io.sparkdl.engine.torch;

import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;

/**
 * libtorch's intra-op threads for a network built in this JVM, so that the tasks running at once times their
 * threads stay within the cores.
 * <ul>
 *   <li>Inside a Spark task on a cluster (a master other than {@code local[...]}): the task's cpus
 *   ({@code spark.task.cpus}, {@code TaskContext.cpus()}). Spark runs at most {@code spark.executor.cores /
 *   spark.task.cpus} tasks at once on an executor, so tasks x threads never exceed the executor's cores;
 *   raise {@code spark.task.cpus} to give each training task more threads (and fewer tasks per executor).
 *   Capped at the cores this JVM sees.</li>
 *   <li>In local mode, and outside a task: the driver's value (its cores divided by the tasks that train at
 *   once), since there the driver's JVM is the executor.</li>
 * </ul>
 */
public final class TorchThreads {
    private TorchThreads() {
    }

    /**
     * The threads for a network built here.
     *
     * @param driverThreads the value the driver computed for local mode (at least 1)
     */
    public static int forThisJvm(int driverThreads) {
        TaskContext task = TaskContext.get();
        SparkEnv env = SparkEnv.get();
        boolean local = env == null || env.conf().get("spark.master", "local").startsWith("local");
        return choose(driverThreads, task == null ? 0 : task.cpus(), local, Runtime.getRuntime().availableProcessors());
    }

    /**
     * The rule of the class comment.
     *
     * @param driverThreads the driver's value (at least 1)
     * @param taskCpus      the running task's cpus, 0 outside a task
     * @param localMaster   whether the master is {@code local[...]}
     * @param cores         the cores this JVM sees
     */
    static int choose(int driverThreads, int taskCpus, boolean localMaster, int cores) {
        if (driverThreads < 1) {
            throw new IllegalArgumentException("torch threads must be >= 1 but was " + driverThreads);
        }
        int threads = taskCpus > 0 && !localMaster ? taskCpus : driverThreads;
        return Math.max(1, Math.min(threads, cores));
    }
}
