package dev.gblm.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.gblm.GblmException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * HTTP endpoint of a gblm process: {@code GET /metrics} (Prometheus text format) and
 * {@code GET /health} (JSON; 200 when every check is up, 503 otherwise).
 */
public final class MetricsServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final GblmMetrics metrics;
    private final String host;
    private final int requestedPort;
    private HttpServer server;
    private ExecutorService executor;

    /** Binds to 127.0.0.1; {@code port} 0 picks a free one (see {@link #port()}). */
    public MetricsServer(GblmMetrics metrics, int port) {
        this(metrics, InetAddress.getLoopbackAddress().getHostAddress(), port);
    }

    /** {@code host} "0.0.0.0" exposes it to a scraper on another machine (containers). */
    public MetricsServer(GblmMetrics metrics, String host, int port) {
        if (port < 0 || port > 65535) {
            throw new GblmException("invalid metrics port " + port);
        }
        this.metrics = metrics;
        this.host = host;
        this.requestedPort = port;
    }

    public synchronized MetricsServer start() {
        try {
            server = HttpServer.create(new InetSocketAddress(host, requestedPort), 16);
        } catch (IOException e) {
            throw new GblmException("cannot serve metrics on " + host + ":" + requestedPort + ": " + e.getMessage(), e);
        }
        server.createContext("/metrics", this::metrics);
        server.createContext("/health", this::health);
        executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "gblm-metrics-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.start();
        return this;
    }

    /** The bound port (the actual one when 0 was asked for). */
    public int port() {
        return server.getAddress().getPort();
    }

    /** The URL to reach the endpoint from this machine (loopback when bound to every address). */
    public String url() {
        String h = "0.0.0.0".equals(host) || "::".equals(host) ? InetAddress.getLoopbackAddress().getHostAddress() : host;
        return "http://" + (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + port();
    }

    /** A context matches every path below it; only the exact path is an endpoint. */
    private static boolean notExactly(HttpExchange ex, String path) throws IOException {
        if (path.equals(ex.getRequestURI().getPath())) {
            return false;
        }
        send(ex, 404, "text/plain", "not found\n".getBytes(StandardCharsets.UTF_8));
        return true;
    }

    private void metrics(HttpExchange ex) throws IOException {
        if (notExactly(ex, "/metrics")) {
            return;
        }
        if (!"GET".equals(ex.getRequestMethod())) {
            send(ex, 405, "text/plain", "GET only\n".getBytes(StandardCharsets.UTF_8));
            return;
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream(16 * 1024);
        metrics.registry().scrape(body);
        send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", body.toByteArray());
    }

    private void health(HttpExchange ex) throws IOException {
        if (notExactly(ex, "/health")) {
            return;
        }
        Map<String, Health> results = metrics.health();
        boolean up = results.values().stream().allMatch(Health::up);
        ObjectNode root = JSON.createObjectNode();
        root.put("status", up ? "UP" : "DOWN");
        ObjectNode checks = root.putObject("checks");
        results.forEach((name, h) -> {
            ObjectNode c = checks.putObject(name);
            c.put("status", h.up() ? "UP" : "DOWN");
            c.put("detail", h.detail());
        });
        send(ex, up ? 200 : 503, "application/json", JSON.writeValueAsBytes(root));
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    public synchronized void stop() {
        if (server != null) {
            server.stop(0);
            executor.shutdownNow();
            server = null;
        }
    }

    @Override
    public void close() {
        stop();
    }
}
