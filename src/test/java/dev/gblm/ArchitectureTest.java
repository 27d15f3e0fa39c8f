package dev.gblm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package structure of {@code src/main/java}, checked on the source text (the project has no bytecode
 * analysis library): the package graph is acyclic, it matches the package map in {@code docs/architecture.md}
 * (read from that file, so the doc and the code cannot drift), and the pure core and the pure service classes
 * import nothing impure.
 *
 * <p>A file's references are its import statements plus every fully qualified name in its code
 * ({@code dev.gblm.engine.LlamaModel.setComputeThreads(...)}, {@code throws java.io.IOException}), found after
 * comments, string literals, text blocks and char literals are blanked out.
 */
class ArchitectureTest {

    private static final Path SOURCES = Path.of("src/main/java");
    private static final Path DOC = Path.of("docs/architecture.md");
    private static final String ROOT = "dev.gblm";

    /** The pure core: whole packages. {@code dev.gblm.prune.batch} is NOT part of it. */
    private static final Set<String> PURE_PACKAGES = Set.of("dev.gblm.stats", "dev.gblm.prune");

    /** Classes outside the pure packages that pure code may use; they must be pure themselves. */
    private static final Set<String> PURE_ALLOWED_CLASSES = Set.of("dev.gblm.GblmException", "dev.gblm.model.LinearKind",
            "dev.gblm.tokenizer.Tokenizer");

    /** Service logic kept pure; unlike the core, it may also use the wire contract {@link #WIRE_CONTRACT}. */
    private static final Set<String> PURE_SERVICE_CLASSES = Set.of(
            "dev.gblm.stream.finalizer.EpochPlanner",
            "dev.gblm.stream.finalizer.BlockAggregation",
            "dev.gblm.stream.worker.SampleDecoder",
            "dev.gblm.stream.worker.StatsRecords",
            "dev.gblm.stream.exporter.EpochAssembly");

    private static final String WIRE_CONTRACT = "dev.gblm.stream";

    /** What pure code must not reference (the package itself and everything below it). */
    private static final List<String> IMPURE_PREFIXES =
            List.of("ai.djl", "org.apache.kafka", "io.micrometer", "java.io", "java.nio.file");

    /** Packages that must stay free of the engine and of Kafka. */
    private static final Set<String> NO_ENGINE_NO_KAFKA_PACKAGES = Set.of("dev.gblm.model", "dev.gblm.stream");

    private static final List<String> ENGINE_AND_KAFKA = List.of("ai.djl", "org.apache.kafka");

    private static List<JavaFile> files;
    private static Set<String> packages;
    /** package -> dev.gblm package it references -> where (file:line and the reference). */
    private static Map<String, Map<String, List<String>>> graph;

    @BeforeAll
    static void parseSources() {
        assertThat(SOURCES).as("run from the project root").isDirectory();
        try (Stream<Path> walk = Files.walk(SOURCES)) {
            List<Path> paths = walk.filter(p -> p.toString().endsWith(".java")).sorted().toList();
            files = new ArrayList<>();
            for (Path p : paths) {
                files.add(JavaFile.parse(p, Files.readString(p)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        packages = files.stream().map(JavaFile::pkg).collect(Collectors.toCollection(TreeSet::new));
        graph = new TreeMap<>();
        for (String p : packages) {
            graph.put(p, new TreeMap<>());
        }
        for (JavaFile f : files) {
            for (Ref r : f.refs()) {
                if (!isUnder(r.name(), ROOT)) {
                    continue;
                }
                String target = packageOf(r.name());
                if (!target.equals(f.pkg())) {
                    graph.get(f.pkg()).computeIfAbsent(target, k -> new ArrayList<>()).add(r.where());
                }
            }
        }
    }

    // ---------------------------------------------------------------- (a) no cycle

    @Test
    void packageGraphHasNoCycle() {
        List<String> cycles = new ArrayList<>();
        for (Set<String> scc : stronglyConnectedComponents(graph)) {
            if (scc.size() > 1) {
                cycles.add("cycle between " + scc + ":\n    " + String.join("\n    ", exampleCycle(scc)));
            }
        }
        assertThat(cycles).withFailMessage("package dependency cycles:\n%s", String.join("\n", cycles)).isEmpty();
    }

    // ---------------------------------------------------------------- (b) the package map of docs/architecture.md

    @Test
    void packageMapListsExactlyThePackagesOfTheCode() {
        PackageMap map = readPackageMap();
        List<String> problems = new ArrayList<>();
        for (String p : packages) {
            if (!map.allowed().containsKey(p)) {
                problems.add("package " + p + " is not in the package map of " + DOC);
            }
        }
        map.allowed().keySet().forEach(p -> {
            if (!packages.contains(p)) {
                problems.add("package " + p + " of the package map (" + map.where(p) + ") does not exist in " + SOURCES);
            }
        });
        map.listed().forEach((p, names) -> {
            for (String n : names) {
                if (!map.allowed().containsKey(n)) {
                    problems.add(map.where(p) + " names " + n + ", which is not a package of the table");
                }
            }
        });
        assertThat(problems).withFailMessage("%s", String.join("\n", problems)).isEmpty();
    }

    @Test
    void everyPackageDependsOnlyOnWhatThePackageMapAllows() {
        Map<String, Set<String>> map = readPackageMap().allowed();
        List<String> problems = new ArrayList<>();
        graph.forEach((pkg, deps) -> {
            Set<String> allowed = map.get(pkg);
            if (allowed == null) {
                return; // reported by packageMapListsExactlyThePackagesOfTheCode
            }
            deps.forEach((target, where) -> {
                if (!allowed.contains(target)) {
                    problems.add(pkg + " depends on " + target + ", which it may not (allowed: "
                            + (allowed.isEmpty() ? "nothing" : new TreeSet<>(allowed)) + "):\n    "
                            + String.join("\n    ", where));
                }
            });
        });
        assertThat(problems)
                .withFailMessage("dependencies outside the package map of %s:\n%s", DOC, String.join("\n", problems))
                .isEmpty();
    }

    // ---------------------------------------------------------------- (c) purity

    @Test
    void pureCoreAndItsAllowListedClassesArePure() {
        List<String> problems = new ArrayList<>();
        for (String cls : PURE_ALLOWED_CLASSES) {
            fileOf(cls, problems);
        }
        for (String pkg : PURE_PACKAGES) {
            if (!packages.contains(pkg)) {
                problems.add("pure package " + pkg + " does not exist");
            }
        }
        for (JavaFile f : files) {
            boolean pure = PURE_PACKAGES.contains(f.pkg()) || PURE_ALLOWED_CLASSES.contains(f.className());
            if (pure) {
                checkPure(f, false, problems);
            }
        }
        assertThat(problems).withFailMessage("impure code in the pure core:\n%s", String.join("\n", problems)).isEmpty();
    }

    @Test
    void pureServiceClassesArePure() {
        List<String> problems = new ArrayList<>();
        for (String cls : PURE_SERVICE_CLASSES) {
            JavaFile f = fileOf(cls, problems);
            if (f != null) {
                checkPure(f, true, problems);
                // same-package classes need no import: look for their simple names in the code
                for (JavaFile sibling : files) {
                    if (!sibling.pkg().equals(f.pkg()) || sibling == f || sibling.simpleName().equals("package-info")
                            || PURE_SERVICE_CLASSES.contains(sibling.className())) {
                        continue;
                    }
                    Matcher m = Pattern.compile("(?<![\\w$.])" + Pattern.quote(sibling.simpleName()) + "(?![\\w$])")
                            .matcher(f.code());
                    if (m.find()) {
                        problems.add(f.rel() + ":" + JavaFile.lineOf(f.code(), m.start()) + " (" + sibling.simpleName()
                                + "): uses " + sibling.className() + " of its own package, which is not pure");
                    }
                }
            }
        }
        assertThat(problems).withFailMessage("impure code in pure service classes:\n%s", String.join("\n", problems))
                .isEmpty();
    }

    @Test
    void modelAndWireContractAreFreeOfEngineAndKafka() {
        List<String> problems = new ArrayList<>();
        for (JavaFile f : files) {
            if (NO_ENGINE_NO_KAFKA_PACKAGES.contains(f.pkg())) {
                for (Ref r : f.refs()) {
                    if (ENGINE_AND_KAFKA.stream().anyMatch(x -> isUnder(r.name(), x))) {
                        problems.add(f.pkg() + " must not use the engine or Kafka: " + r.where());
                    }
                }
            }
        }
        assertThat(problems).withFailMessage("%s", String.join("\n", problems)).isEmpty();
    }

    /**
     * A pure file references nothing under {@link #IMPURE_PREFIXES} and, of {@code dev.gblm}, only the pure
     * packages and {@link #PURE_ALLOWED_CLASSES} (plus {@link #WIRE_CONTRACT} for the pure service classes).
     */
    private static void checkPure(JavaFile f, boolean mayUseWireContract, List<String> problems) {
        for (Ref r : f.refs()) {
            for (String impure : IMPURE_PREFIXES) {
                if (isUnder(r.name(), impure)) {
                    problems.add(r.where() + ": pure code must not use " + impure);
                }
            }
            if (!isUnder(r.name(), ROOT)) {
                continue;
            }
            String target = packageOf(r.name());
            boolean ok = PURE_PACKAGES.contains(target)
                    || PURE_ALLOWED_CLASSES.contains(classOf(r.name()))
                    || mayUseWireContract && (target.equals(WIRE_CONTRACT)
                            || PURE_SERVICE_CLASSES.contains(classOf(r.name())));
            if (!ok) {
                problems.add(r.where() + ": pure code may use only " + new TreeSet<>(PURE_PACKAGES) + ", "
                        + new TreeSet<>(PURE_ALLOWED_CLASSES) + (mayUseWireContract ? " and " + WIRE_CONTRACT : ""));
            }
        }
    }

    private static JavaFile fileOf(String className, List<String> problems) {
        for (JavaFile f : files) {
            if (f.className().equals(className)) {
                return f;
            }
        }
        problems.add("pure class " + className + " does not exist (renamed? update ArchitectureTest and " + DOC + ")");
        return null;
    }

    // ---------------------------------------------------------------- the parser checks itself

    @Test
    void parserSeesImportsAndQualifiedNamesButNotCommentsOrStrings() {
        String src = """
                package dev.gblm.x;

                import dev.gblm.a.A;
                import static dev.gblm.b.B.CONST;
                import dev.gblm.c.*;
                // import dev.gblm.d.D;
                /* dev.gblm.e.E */
                /** {@link dev.gblm.f.F} */
                class X {
                    String s = "dev.gblm.g.G \\" dev.gblm.h.H";
                    String t = \"""
                        dev.gblm.i.I
                        \""";
                    char c = '"';
                    Object o = dev.gblm.j.J.make(ai.djl.ndarray.NDArray.class);
                    void m() throws java.io.IOException { dev.gblm . k.K.run(); }
                }
                """;
        JavaFile f = JavaFile.parse(Path.of("X.java"), src);
        assertThat(f.pkg()).isEqualTo("dev.gblm.x");
        assertThat(f.refs()).extracting(Ref::name).containsExactly(
                "dev.gblm.a.A", "dev.gblm.b.B.CONST", "dev.gblm.c",
                "dev.gblm.j.J.make", "ai.djl.ndarray.NDArray.class", "java.io.IOException", "dev.gblm.k.K.run");
        assertThat(f.refs()).extracting(Ref::line).containsExactly(3, 4, 5, 15, 15, 16, 16);
        assertThat(packageOf("dev.gblm.prune.batch.BatchPruner.run")).isEqualTo("dev.gblm.prune.batch");
        assertThat(packageOf("dev.gblm.GblmException")).isEqualTo("dev.gblm");
        assertThat(classOf("dev.gblm.model.LinearKind.Q_PROJ")).isEqualTo("dev.gblm.model.LinearKind");
    }

    // ---------------------------------------------------------------- reading the package map

    /**
     * The table under "## Package map" of {@link #DOC}.
     *
     * @param allowed package -> the other {@code dev.gblm} packages it may depend on ("everything" resolved
     *                against the table)
     * @param listed  package -> the package names its "may depend on" cell names (checked to be in the table)
     * @param lines   package -> line of its row in the doc
     */
    record PackageMap(Map<String, Set<String>> allowed, Map<String, List<String>> listed, Map<String, Integer> lines) {
        String where(String pkg) {
            return DOC + " line " + lines.get(pkg) + " (" + pkg + ")";
        }
    }

    /** Reads the package map; a table that is not in the documented format fails here, naming the line. */
    static PackageMap readPackageMap() {
        List<String> lines;
        try {
            lines = Files.readAllLines(DOC);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int heading = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).strip().matches("##\\s+Package map")) {
                assertThat(heading).as("one '## Package map' heading in %s", DOC).isEqualTo(-1);
                heading = i;
            }
        }
        assertThat(heading).as("a '## Package map' heading in %s", DOC).isGreaterThanOrEqualTo(0);
        int i = heading + 1;
        while (i < lines.size() && !lines.get(i).strip().startsWith("|")) {
            assertThat(lines.get(i).strip()).as("%s line %d: no heading between '## Package map' and its table",
                    DOC, i + 1).doesNotStartWith("#");
            i++;
        }
        List<List<String>> table = new ArrayList<>();
        List<Integer> lineNumbers = new ArrayList<>();
        for (; i < lines.size() && lines.get(i).strip().startsWith("|"); i++) {
            table.add(cells(lines.get(i)));
            lineNumbers.add(i + 1);
        }
        assertThat(table).as("the package map table in %s", DOC).hasSizeGreaterThan(2);
        assertThat(table.get(0)).as("%s line %d: header", DOC, lineNumbers.get(0))
                .containsExactly("package", "role", "may depend on");
        assertThat(table.get(1)).as("%s line %d: separator", DOC, lineNumbers.get(1))
                .allMatch(c -> c.matches(":?-{3,}:?"));

        Pattern packageCell = Pattern.compile("`(dev\\.gblm(?:\\.[a-z][a-z0-9_]*)*)`");
        Map<String, String> cellOf = new LinkedHashMap<>();
        Map<String, Integer> rowLine = new HashMap<>();
        for (int r = 2; r < table.size(); r++) {
            List<String> row = table.get(r);
            int line = lineNumbers.get(r);
            assertThat(row).as("%s line %d: three cells", DOC, line).hasSize(3);
            Matcher m = packageCell.matcher(row.get(0));
            assertThat(m.matches()).as("%s line %d: package cell '%s' is one `dev.gblm...` name", DOC, line, row.get(0))
                    .isTrue();
            assertThat(cellOf).as("%s line %d: package %s listed once", DOC, line, m.group(1))
                    .doesNotContainKey(m.group(1));
            cellOf.put(m.group(1), row.get(2));
            rowLine.put(m.group(1), line);
        }

        Set<String> all = cellOf.keySet();
        Map<String, Set<String>> allowed = new TreeMap<>();
        Map<String, List<String>> listed = new TreeMap<>();
        Pattern name = Pattern.compile("`([\\w.]+)`");
        cellOf.forEach((pkg, cell) -> {
            String where = DOC + " line " + rowLine.get(pkg) + " (" + pkg + ")";
            Set<String> may = new TreeSet<>();
            List<String> names = List.of();
            if (cell.equals("—") || cell.equals("-")) {
                // nothing
            } else if (cell.equals("everything")) {
                may.addAll(all);
            } else if (cell.startsWith("everything except ")) {
                names = names(cell.substring("everything except ".length()), name, where);
                may.addAll(all);
                names.forEach(may::remove);
            } else {
                names = names(cell, name, where);
                may.addAll(names);
            }
            may.remove(pkg);
            allowed.put(pkg, may);
            listed.put(pkg, names);
        });
        return new PackageMap(allowed, listed, rowLine);
    }

    /** A comma-separated list of backticked names, nothing else. */
    private static List<String> names(String list, Pattern name, String where) {
        List<String> out = new ArrayList<>();
        for (String item : list.split(",")) {
            Matcher m = name.matcher(item.strip());
            assertThat(m.matches()).as("%s: '%s' is a backticked package name (list: '%s')", where, item.strip(), list)
                    .isTrue();
            out.add(m.group(1));
        }
        return out;
    }

    private static List<String> cells(String line) {
        String s = line.strip();
        s = s.substring(1, s.endsWith("|") && s.length() > 1 ? s.length() - 1 : s.length());
        List<String> out = new ArrayList<>();
        for (String c : s.split("\\|", -1)) {
            out.add(c.strip());
        }
        return out;
    }

    // ---------------------------------------------------------------- graph helpers

    /** Tarjan's algorithm, iterative over the small package graph. */
    private static List<Set<String>> stronglyConnectedComponents(Map<String, Map<String, List<String>>> g) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new LinkedHashSet<>();
        List<Set<String>> out = new ArrayList<>();
        int[] counter = {0};
        for (String v : g.keySet()) {
            if (!index.containsKey(v)) {
                strongConnect(v, g, index, low, stack, onStack, out, counter);
            }
        }
        return out;
    }

    private static void strongConnect(String v, Map<String, Map<String, List<String>>> g, Map<String, Integer> index,
            Map<String, Integer> low, Deque<String> stack, Set<String> onStack, List<Set<String>> out, int[] counter) {
        index.put(v, counter[0]);
        low.put(v, counter[0]);
        counter[0]++;
        stack.push(v);
        onStack.add(v);
        for (String w : g.getOrDefault(v, Map.of()).keySet()) {
            if (!index.containsKey(w)) {
                strongConnect(w, g, index, low, stack, onStack, out, counter);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<String> scc = new TreeSet<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                scc.add(w);
            } while (!w.equals(v));
            out.add(scc);
        }
    }

    /** One concrete cycle through the component, each edge with the first reference that makes it. */
    private static List<String> exampleCycle(Set<String> scc) {
        String start = scc.iterator().next();
        // breadth-first from start back to start, inside the component
        Map<String, String> parent = new HashMap<>();
        Deque<String> queue = new ArrayDeque<>();
        queue.add(start);
        String last = null;
        while (!queue.isEmpty() && last == null) {
            String v = queue.poll();
            for (String w : graph.get(v).keySet()) {
                if (!scc.contains(w)) {
                    continue;
                }
                if (w.equals(start)) {
                    last = v;
                    break;
                }
                if (!parent.containsKey(w)) {
                    parent.put(w, v);
                    queue.add(w);
                }
            }
        }
        List<String> path = new ArrayList<>();
        for (String v = last; v != null; v = v.equals(start) ? null : parent.get(v)) {
            path.add(0, v);
        }
        path.add(start);
        List<String> out = new ArrayList<>();
        for (int i = 0; i + 1 < path.size(); i++) {
            out.add(path.get(i) + " -> " + path.get(i + 1) + "  [" + graph.get(path.get(i)).get(path.get(i + 1)).get(0) + "]");
        }
        return out;
    }

    // ---------------------------------------------------------------- names

    private static boolean isUnder(String name, String pkg) {
        return name.equals(pkg) || name.startsWith(pkg + ".");
    }

    /** The longest known package that prefixes the name; failing that, the segments before the first capital. */
    static String packageOf(String name) {
        String[] seg = name.split("\\.");
        Set<String> known = packages == null ? Set.of() : packages;
        String best = null;
        StringBuilder sb = new StringBuilder();
        for (String s : seg) {
            if (sb.length() > 0) {
                sb.append('.');
            }
            sb.append(s);
            if (known.contains(sb.toString())) {
                best = sb.toString();
            }
        }
        if (best != null) {
            return best;
        }
        List<String> pkg = new ArrayList<>();
        for (String s : seg) {
            if (!s.isEmpty() && Character.isUpperCase(s.charAt(0))) {
                break;
            }
            pkg.add(s);
        }
        return String.join(".", pkg);
    }

    /** The top-level class a qualified reference names ({@code a.b.C.D.m} -> {@code a.b.C}), or its package. */
    static String classOf(String name) {
        String pkg = packageOf(name);
        if (name.length() <= pkg.length()) {
            return pkg;
        }
        String rest = name.substring(pkg.length() + 1);
        int dot = rest.indexOf('.');
        return pkg + "." + (dot < 0 ? rest : rest.substring(0, dot));
    }

    // ---------------------------------------------------------------- the source parser

    record Ref(String file, int line, String name, boolean isImport) {
        String where() {
            return file + ":" + line + " (" + (isImport ? "import " : "") + name + ")";
        }
    }

    /**
     * One source file: its package, its code with comments and literals blanked (same length, same line breaks),
     * and its references: imports (wildcards without {@code .*}) then qualified names in the code, in order.
     */
    record JavaFile(String rel, String pkg, String simpleName, String code, List<Ref> refs) {

        private static final Pattern PACKAGE = Pattern.compile("\\bpackage\\s+([\\w.\\s]+?)\\s*;");
        private static final Pattern IMPORT = Pattern.compile("\\bimport\\s+(static\\s+)?([\\w$.\\s]+?)(\\s*\\.\\s*\\*)?\\s*;");
        private static final String ID = "[A-Za-z_$][\\w$]*";
        private static final Pattern QUALIFIED = Pattern.compile("(?<![\\w$.])((?:dev\\s*\\.\\s*gblm|ai\\s*\\.\\s*djl"
                + "|org\\s*\\.\\s*apache\\s*\\.\\s*kafka|io\\s*\\.\\s*micrometer|java\\s*\\.\\s*io|java\\s*\\.\\s*nio)"
                + "(?![\\w$])(?:\\s*\\.\\s*" + ID + ")*)");

        String className() {
            return pkg + "." + simpleName;
        }

        static JavaFile parse(Path path, String source) {
            String rel = path.toString().replace('\\', '/');
            String code = blankCommentsAndLiterals(source);
            StringBuilder body = new StringBuilder(code);
            Matcher pm = PACKAGE.matcher(code);
            String pkg = "";
            if (pm.find()) {
                pkg = pm.group(1).replaceAll("\\s", "");
                blank(body, pm.start(), pm.end());
            }
            List<Ref> refs = new ArrayList<>();
            Matcher im = IMPORT.matcher(code);
            while (im.find()) {
                refs.add(new Ref(rel, lineOf(code, im.start()), im.group(2).replaceAll("\\s", ""), true));
                blank(body, im.start(), im.end());
            }
            Matcher qm = QUALIFIED.matcher(body);
            while (qm.find()) {
                refs.add(new Ref(rel, lineOf(code, qm.start()), qm.group(1).replaceAll("\\s", ""), false));
            }
            String file = path.getFileName().toString();
            return new JavaFile(rel, pkg, file.substring(0, file.length() - ".java".length()), body.toString(), refs);
        }

        private static void blank(StringBuilder sb, int from, int to) {
            for (int i = from; i < to; i++) {
                if (sb.charAt(i) != '\n') {
                    sb.setCharAt(i, ' ');
                }
            }
        }

        private static int lineOf(String s, int offset) {
            int line = 1;
            for (int i = 0; i < offset; i++) {
                if (s.charAt(i) == '\n') {
                    line++;
                }
            }
            return line;
        }

        /** Comments, string literals, text blocks and char literals become spaces; line breaks stay. */
        static String blankCommentsAndLiterals(String s) {
            StringBuilder out = new StringBuilder(s);
            int n = s.length();
            int i = 0;
            while (i < n) {
                int end;
                if (s.startsWith("//", i)) {
                    end = s.indexOf('\n', i);
                    end = end < 0 ? n : end;
                } else if (s.startsWith("/*", i)) {
                    end = s.indexOf("*/", i + 2);
                    end = end < 0 ? n : end + 2;
                } else if (s.startsWith("\"\"\"", i)) {
                    end = i + 3;
                    while (end < n && !s.startsWith("\"\"\"", end)) {
                        end += s.charAt(end) == '\\' ? 2 : 1;
                    }
                    end = Math.min(n, end + 3);
                } else if (s.charAt(i) == '"' || s.charAt(i) == '\'') {
                    char q = s.charAt(i);
                    end = i + 1;
                    while (end < n && s.charAt(end) != q && s.charAt(end) != '\n') {
                        end += s.charAt(end) == '\\' ? 2 : 1;
                    }
                    end = Math.min(n, end + 1);
                } else {
                    i++;
                    continue;
                }
                blank(out, i, end);
                i = end;
            }
            return out.toString();
        }
    }
}
