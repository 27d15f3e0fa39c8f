/**
 * The picocli command line, {@code java -jar gblm.jar <command>}: {@link Main} is the entry point and a registry of
 * subcommands wires the batch commands ({@code prune}, {@code eval}, {@code generate}, {@code tokenize}), the
 * streaming services and clients ({@code broker}, {@code topics}, {@code ingest}, {@code worker},
 * {@code finalizer}, {@code exporter}, {@code job}, {@code run}, {@code demo}) and the {@code report} and
 * {@code bench} command groups, with shared option mixins for models and Kafka; errors of type
 * {@code dev.gblm.GblmException} become one line on stderr. May depend on every {@code dev.gblm} package.
 */
package dev.gblm.cli;
