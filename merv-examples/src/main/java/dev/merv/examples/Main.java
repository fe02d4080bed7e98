package dev.merv.examples;

import dev.merv.core.train.RunDirectoryBusyException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code ./merv} launcher: one entry point for every command, each with {@code --help}.
 * Exit codes: 0 success, 1 the command failed, 2 bad usage.
 */
public final class Main {

    /** A launcher command. */
    public interface Command {
        String summary();

        String usage();

        /** Runs with the arguments after the command name; returns the exit code. */
        int run(String[] args) throws Exception;
    }

    static Map<String, Command> commands() {
        Map<String, Command> c = new LinkedHashMap<>();
        Commands.register(c);
        return c;
    }

    private Main() {}

    public static void main(String[] argv) {
        System.exit(run(argv));
    }

    /** Runs the launcher without exiting the JVM (for tests). */
    public static int run(String[] argv) {
        Map<String, Command> cmds = commands();
        if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h") || argv[0].equals("help")) {
            System.out.println(help(cmds));
            return argv.length == 0 ? 2 : 0;
        }
        String name = argv[0];
        String[] rest = Arrays.copyOfRange(argv, 1, argv.length);
        if ((name.equals("data") || name.equals("cache")) && rest.length > 0 && !rest[0].startsWith("-")) {
            name = name + " " + rest[0];
            rest = Arrays.copyOfRange(rest, 1, rest.length);
        }
        Command cmd = cmds.get(name);
        if (cmd == null) {
            System.err.println("merv: unknown command '" + name + "'\n\n" + help(cmds));
            return 2;
        }
        if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
            System.out.println("usage: ./merv " + name + " " + cmd.usage() + "\n\n" + cmd.summary());
            return 0;
        }
        try {
            return cmd.run(rest);
        } catch (RunDirectoryBusyException e) {
            // another process trains into the run directory: nothing to debug, and a job script can tell it apart
            System.err.println("merv " + name + ": " + e.getMessage());
            return 3;
        } catch (IllegalArgumentException e) {
            System.err.println("merv " + name + ": " + e.getMessage());
            System.err.println("usage: ./merv " + name + " " + cmd.usage());
            return 2;
        } catch (Exception e) {
            System.err.println("merv " + name + " failed: " + e);
            e.printStackTrace(System.err);
            return 1;
        }
    }

    static String help(Map<String, Command> cmds) {
        StringBuilder sb = new StringBuilder("usage: ./merv <command> [options]   (./merv <command> --help for details)\n\ncommands:\n");
        cmds.forEach((n, c) -> sb.append(String.format("  %-12s %s%n", n, c.summary())));
        return sb.toString();
    }
}
