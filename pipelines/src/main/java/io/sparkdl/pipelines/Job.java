package io.sparkdl.pipelines;

import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.util.concurrent.Callable;

/**
 * One spark-dl command: a picocli command object whose {@code @Option} fields are the job's own options
 * (inputs, outputs, cluster) and whose stage params come in as options through {@link ParamOptions}.
 */
abstract class Job implements Callable<Integer> {
    /** The stage params of this command given on the command line. */
    final ParamOptions params = new ParamOptions();

    /** Adds the command's stage-param options to its picocli spec (called once, before parsing). */
    void addParamOptions(CommandSpec spec) {
    }

    /** Runs the job; returns the exit code. Throws {@link UsageException} for a bad command line. */
    @Override
    public abstract Integer call() throws IOException;
}
