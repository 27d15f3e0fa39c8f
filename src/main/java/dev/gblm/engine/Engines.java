package dev.gblm.engine;

import ai.djl.engine.Engine;

/** One place that makes sure DJL starts offline with the PyTorch engine. */
final class Engines {
    private Engines() {}

    static synchronized void init() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        Engine.getEngine("PyTorch");
    }
}
