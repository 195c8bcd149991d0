package io.sparkdl.engine;

/**
 * One training engine, which builds its {@link EngineNetwork}s. {@link EngineSpec#build()} finds engines by
 * name through {@link java.util.ServiceLoader} ({@code META-INF/services/io.sparkdl.engine.Engine}), so
 * engine/ defines what a network is and names none of the packages that implement one (engine/torch).
 */
public interface Engine {
    /** The name {@link EngineSpec#engine()} gives, as in {@link EngineSpec#ENGINES}. */
    String name();

    /** A fresh network with the engine's own initial weights for {@code spec}. */
    EngineNetwork build(EngineSpec spec);
}
