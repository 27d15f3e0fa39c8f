package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.eval.Generator;
import dev.gblm.tokenizer.Tokenizer;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generate text from a prompt.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--prompt", defaultValue = "", description = "prompt text (default: empty, start from BOS)")
    String prompt;

    @Option(names = "--tokens", defaultValue = "256", description = "new tokens at most (default ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--seed", defaultValue = "42", description = "sampling seed (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() {
        if (tokens < 1) {
            throw new GblmException("--tokens must be at least 1");
        }
        if (temperature < 0 || Double.isNaN(temperature)) {
            throw new GblmException("--temperature must be >= 0");
        }
        try (LlamaModel m = model.load()) {
            Tokenizer tok = model.tokenizer();
            if (tok.vocabSize() > m.config().vocabSize()) {
                throw new GblmException("tokenizer has " + tok.vocabSize() + " tokens, model " + m.config().vocabSize());
            }
            System.out.println(new Generator(m, tok).generate(prompt, tokens, temperature, seed));
        }
        return 0;
    }
}
