package io.sparkdl.pipelines;

import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The spark-dl command line: picks the command ({@code train}, {@code evaluate}, {@code predict},
 * {@code cluster}, {@code explain}, {@code run}, {@code retrain}, {@code export-idx}, one class each) and runs
 * it. Usage errors end in one line and exit code 2, failures in one line and exit code 1.
 */
@Command(name = "spark-dl", mixinStandardHelpOptions = true, versionProvider = SparkDl.Version.class,
        description = "Spark batch jobs for CNN image classification. 'spark-dl COMMAND --help' lists a "
                + "command's options.",
        footer = {"", "Outputs (--model, --out, --metrics-json, --report-dir) must not exist (an empty folder is "
                + "fine) unless --overwrite is given, and even then only an output spark-dl wrote is replaced; an "
                + "output equal to, inside or containing an input is refused."})
public final class SparkDl {
    private static final Logger LOG = LoggerFactory.getLogger(SparkDl.class);

    /** Exit codes, as every command's help lists them. */
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    private static final Map<String, String> EXIT_CODES = new LinkedHashMap<>();

    static {
        EXIT_CODES.put(" " + OK, "done");
        EXIT_CODES.put(" " + FAILED, "the job failed (one line on stderr: spark-dl: error: ...)");
        EXIT_CODES.put(" " + USAGE, "bad command line or pipeline definition (one line on stderr)");
        EXIT_CODES.put(Integer.toString(RetrainCommand.LOCKED), "retrain: the registry is locked by another run");
    }

    private SparkDl() {
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"spark-dl " + Jobs.projectVersion()};
        }
    }

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (UsageException e) {
            System.err.println("spark-dl: " + e.getMessage());
            code = USAGE;
        } catch (Throwable e) {
            System.err.println("spark-dl: error: " + Jobs.rootMessage(e));
            LOG.debug("failure", e);
            code = FAILED;
        }
        System.exit(code);
    }

    /**
     * Runs one command line and returns the exit code; throws {@link UsageException} for a bad command
     * line and the job's exception for a failure.
     */
    public static int run(String[] args) throws IOException {
        CommandLine top = commandLine();
        ParseResult parsed;
        try {
            parsed = top.parseArgs(args);
        } catch (ParameterException e) {
            throw new UsageException(message(e));
        }
        Integer help = CommandLine.executeHelpRequest(parsed);
        if (help != null) {
            return help;
        }
        if (!parsed.hasSubcommand()) {
            top.usage(System.err);
            return USAGE;
        }
        Object command = parsed.subcommand().commandSpec().userObject();
        if (command instanceof CommandLine.HelpCommand h) {
            h.run();
            return OK;
        }
        return ((Job) command).call();
    }

    /** The command tree: spark-dl and one subcommand per job, each with its stage-param options. */
    static CommandLine commandLine() {
        CommandLine top = new CommandLine(SparkDl.class);
        for (Job job : List.of(new TrainCommand(), new EvaluateCommand(), new PredictCommand(), new ClusterCommand(),
                new ExplainCommand(), new RunCommand(), new RetrainCommand(), new ExportIdxCommand())) {
            top.addSubcommand(command(job));
        }
        top.addSubcommand("help", new CommandLine.HelpCommand());
        top.getCommandSpec().usageMessage().exitCodeListHeading("%nExit codes:%n").exitCodeList(EXIT_CODES);
        return top;
    }

    /** One command's picocli model: its @Option fields, its stage params as options, --help, exit codes. */
    static CommandLine command(Job job) {
        CommandLine cl = new CommandLine(job);
        CommandLine.Model.CommandSpec spec = cl.getCommandSpec();
        spec.mixinStandardHelpOptions(true);
        spec.usageMessage().sortOptions(false).abbreviateSynopsis(true).exitCodeListHeading("%nExit codes:%n").exitCodeList(EXIT_CODES);
        job.addParamOptions(spec);
        return cl;
    }

    /**
     * Parses arguments into a command: a pipeline definition's overrides, so no option is required here (the
     * definition gives them; the job checks what is still missing). Usage errors as for run.
     */
    static <T extends Job> T parse(T job, List<String> args) {
        CommandLine cl = command(job);
        CommandLine.Model.CommandSpec spec = cl.getCommandSpec();
        for (CommandLine.Model.OptionSpec o : List.copyOf(spec.options())) {
            if (o.required()) {
                spec.remove(o);
                spec.addOption(o.toBuilder().required(false).build());
            }
        }
        try {
            cl.parseArgs(args.toArray(new String[0]));
        } catch (ParameterException e) {
            throw new UsageException(message(e));
        }
        return job;
    }

    /** One line for a picocli parse error: the unknown option with suggestions, or picocli's message. */
    static String message(ParameterException e) {
        String command = e.getCommandLine().getCommandName();
        String prefix = command.equals("spark-dl") ? "" : command + ": ";
        String hint = " (spark-dl " + (prefix.isEmpty() ? "" : command + " ") + "--help lists the options)";
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String arg = u.getUnmatched().get(0);
            List<String> suggestions = u.getSuggestions();
            String did = suggestions.isEmpty() ? "" : "; did you mean " + String.join(" or ", suggestions) + "?";
            if (!arg.startsWith("-") && prefix.isEmpty()) {
                return "unknown command '" + arg + "'" + did + hint;
            }
            return prefix + (arg.startsWith("-") ? "unknown option " + arg.replaceAll("=.*", "")
                    : "unexpected argument '" + arg + "'") + did + hint;
        }
        if (e instanceof CommandLine.MissingParameterException m) {
            List<String> names = m.getMissing().stream().map(a -> a.isOption()
                    ? ((CommandLine.Model.OptionSpec) a).longestName() : a.paramLabel()).toList();
            return prefix + "missing required " + (m.getMissing().get(0).isOption() ? "option " : "argument ")
                    + String.join(", ", names) + hint;
        }
        return prefix + e.getMessage() + hint;
    }
}
