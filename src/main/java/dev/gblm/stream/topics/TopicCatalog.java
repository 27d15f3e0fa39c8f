package dev.gblm.stream.topics;

import dev.gblm.GblmException;
import dev.gblm.stream.Topics;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/** All topic definitions of a {@code topics/} folder (or of the copy packaged in the jar). */
public final class TopicCatalog {
    /** Classpath folder the build copies {@code topics/} into (see pom.xml resources). */
    public static final String RESOURCE_DIR = "gblm/topics";

    private final List<TopicSpec> specs;

    public TopicCatalog(List<TopicSpec> specs) {
        List<TopicSpec> sorted = new ArrayList<>(specs);
        sorted.sort(Comparator.comparing(TopicSpec::name));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).name().equals(sorted.get(i - 1).name())) {
                throw new GblmException("topic " + sorted.get(i).name() + " is defined twice");
            }
        }
        this.specs = List.copyOf(sorted);
    }

    /** Reads every {@code *.properties} file of {@code topicsDir}. */
    public static TopicCatalog load(Path topicsDir) {
        if (!Files.isDirectory(topicsDir)) {
            throw new GblmException("topics folder not found: " + topicsDir);
        }
        List<TopicSpec> specs = new ArrayList<>();
        try (Stream<Path> files = Files.list(topicsDir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".properties")).sorted().toList()) {
                try (InputStream in = Files.newInputStream(f)) {
                    specs.add(parse(in, f.getFileName().toString()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read topics folder " + topicsDir, e);
        }
        if (specs.isEmpty()) {
            throw new GblmException("no *.properties topic definitions in " + topicsDir);
        }
        return new TopicCatalog(specs);
    }

    /** The copy of {@code topics/} packaged with the application, so the jar works from any directory. */
    public static TopicCatalog fromClasspath() {
        URL url = TopicCatalog.class.getClassLoader().getResource(RESOURCE_DIR);
        if (url == null) {
            throw new GblmException("topic definitions not packaged (resource " + RESOURCE_DIR + " missing); pass --topics DIR");
        }
        try {
            URI uri = url.toURI();
            if ("jar".equals(uri.getScheme())) {
                FileSystem fs;
                boolean opened = false;
                try {
                    fs = FileSystems.newFileSystem(uri, Map.of());
                    opened = true;
                } catch (FileSystemAlreadyExistsException e) {
                    fs = FileSystems.getFileSystem(uri);
                }
                try {
                    return load(fs.getPath(RESOURCE_DIR));
                } finally {
                    if (opened) {
                        fs.close();
                    }
                }
            }
            return load(Path.of(uri));
        } catch (URISyntaxException | IOException e) {
            throw new GblmException("cannot read packaged topic definitions: " + e.getMessage(), e);
        }
    }

    /** {@code dir} when given, else the packaged copy. */
    public static TopicCatalog loadOrDefault(Path dir) {
        return dir != null ? load(dir) : fromClasspath();
    }

    static TopicSpec parse(InputStream in, String origin) throws IOException {
        Properties p = new Properties();
        try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        return TopicSpec.fromProperties(p, origin);
    }

    public List<TopicSpec> all() {
        return specs;
    }

    /** Concrete topics (templates excluded): what {@code apply} creates. */
    public List<TopicSpec> concrete() {
        return specs.stream().filter(s -> !s.isTemplate()).toList();
    }

    public List<TopicSpec> templates() {
        return specs.stream().filter(TopicSpec::isTemplate).toList();
    }

    public Optional<TopicSpec> find(String name) {
        return specs.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    public TopicSpec get(String name) {
        return find(name).orElseThrow(() -> new GblmException("no topic definition named " + name));
    }

    /** The spec describing a concrete topic: its own definition, or an instantiated template. */
    public Optional<TopicSpec> specFor(String topic) {
        Optional<TopicSpec> exact = find(topic);
        if (exact.isPresent() && !exact.get().isTemplate()) {
            return exact;
        }
        return templates().stream().filter(t -> t.matches(topic)).findFirst().map(t -> t.forName(topic));
    }

    /** The calibration topic of one stream, validated ({@link Topics#calibrationTopic}), from the template. */
    public TopicSpec calibrationTopic(String stream) {
        return get(Topics.CALIBRATION.name()).forName(Topics.calibrationTopic(stream));
    }
}
