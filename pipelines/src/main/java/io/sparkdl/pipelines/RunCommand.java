package io.sparkdl.pipelines;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Unmatched;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** {@code spark-dl run FILE [options]}: the commands of a pipeline definition, one after the other. */
@Command(name = "run", description = "Run a ready pipeline definition (pipelines/*.json): train, then evaluate "
        + "when it names an evaluation set; or cluster. Options after the file are train's (or cluster's) and "
        + "override the file's fields.")
final class RunCommand extends Job {
    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    @Parameters(index = "0", paramLabel = "FILE", description = "The pipeline definition, e.g. "
            + "pipelines/fashion-lenet.json.")
    String file;
    @Unmatched
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        List<Job> jobs = PipelineDefinition.jobs(file, overrides);
        for (int i = 0; i < jobs.size(); i++) {
            String name = jobs.get(i).getClass().getAnnotation(Command.class).name();
            LOG.info("spark-dl run {}: step {}/{}: {}", file, i + 1, jobs.size(), name);
            int rc = jobs.get(i).call();
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }
}
