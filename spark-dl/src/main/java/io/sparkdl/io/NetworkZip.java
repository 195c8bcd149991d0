package io.sparkdl.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkdl.backend.Nd4jBackend;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A DL4J {@code MultiLayerNetwork} as a zip in {@code ModelSerializer}'s layout ({@code configuration.json},
 * {@code coefficients.bin}, {@code updaterState.bin}), so models saved by earlier releases load and DL4J can
 * read ours, but read without {@code ModelSerializer}: its reader hands a {@code preprocessor.bin} entry to
 * {@code ObjectInputStream.readObject}, which runs code chosen by whoever can write the model folder.
 *
 * <p>The reader streams the zip entry by entry and never deserializes Java objects: the configuration is JSON
 * (every {@code @class} in it must be a DL4J, ND4J or spark-dl class), and the two arrays are ND4J's binary
 * format ({@code Nd4j.write}: a shape buffer then a data buffer, each a mode name, a length, a type name and
 * big-endian values), parsed here with every length checked against the configuration's parameter count and
 * against what the file's size can hold before anything is allocated. Any other entry, a duplicate, a name
 * with {@code ..} or an absolute path, a truncated file or trailing bytes are refused with the file and entry
 * named.
 */
public final class NetworkZip {
    static final String CONFIGURATION = "configuration.json";
    static final String COEFFICIENTS = "coefficients.bin";
    static final String UPDATER_STATE = "updaterState.bin";
    private static final List<String> ENTRIES = List.of(CONFIGURATION, COEFFICIENTS, UPDATER_STATE);
    /** Packages whose classes a configuration may name (DL4J's JSON names layer, updater, activation classes). */
    private static final List<String> ALLOWED_CLASS_PREFIXES = List.of("org.deeplearning4j.", "org.nd4j.",
            "io.sparkdl.");
    static final int MAX_CONFIGURATION_BYTES = 16 << 20;
    /** Deflate expands at most 1032:1, so a file of n bytes holds at most ~1032 n bytes of entries. */
    private static final long MAX_INFLATION = 1032;
    private static final int MAX_RANK = 32;
    private static final ObjectMapper PLAIN_JSON = new ObjectMapper();

    private NetworkZip() {
    }

    /** Writes {@code net} (configuration, weights and updater state) to {@code path} on any Hadoop file system. */
    public static void write(MultiLayerNetwork net, String path, Configuration conf) {
        Path p = new Path(path);
        try (FSDataOutputStream file = p.getFileSystem(conf).create(p, true);
             ZipOutputStream zip = new ZipOutputStream(new BufferedOutputStream(file, 1 << 16))) {
            zip.putNextEntry(new ZipEntry(CONFIGURATION));
            zip.write(net.getLayerWiseConfigurations().toJson().getBytes(StandardCharsets.UTF_8));
            writeArray(zip, COEFFICIENTS, net.params());
            INDArray state = net.getUpdater() == null ? null : net.getUpdater().getStateViewArray();
            if (state != null && state.length() > 0) {
                writeArray(zip, UPDATER_STATE, state);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("Cannot write " + path, e);
        }
    }

    private static void writeArray(ZipOutputStream zip, String entry, INDArray a) throws IOException {
        zip.putNextEntry(new ZipEntry(entry));
        // Nd4j.write is ModelSerializer's format; the stream is flushed, never closed (that would close the zip)
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(zip, 1 << 16));
        Nd4j.write(a, out);
        out.flush();
    }

    /** Reads a network written by {@link #write} or by DL4J's {@code ModelSerializer}, refusing anything else. */
    public static MultiLayerNetwork read(String path, Configuration conf) {
        Path p = new Path(path);
        String entry = null;
        try {
            FileSystem fs = p.getFileSystem(conf);
            long fileLength = fs.getFileStatus(p).getLen();
            Nd4jBackend.init();
            try (ZipInputStream zip = new ZipInputStream(new BufferedInputStream(fs.open(p), 1 << 16))) {
                MultiLayerConfiguration configuration = null;
                MultiLayerNetwork net = null;
                java.util.Set<String> seen = new java.util.HashSet<>();
                long maxBytes = MAX_INFLATION * fileLength + 1024;
                for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                    entry = e.getName();
                    checkEntry(path, entry, seen);
                    switch (entry) {
                        case CONFIGURATION -> configuration = configuration(path, readAtMost(zip, path, entry));
                        case COEFFICIENTS -> {
                            if (configuration == null) {
                                throw new ModelFileException(path, entry, CONFIGURATION + " must come first", null);
                            }
                            long n = numParams(configuration);
                            checkFits(n, 4, maxBytes, path, entry); // before allocating what the configuration claims
                            INDArray params = Nd4j.createUninitialized(configuration.getDataType(), 1, n);
                            readArray(zip, params, maxBytes, path, entry);
                            net = new MultiLayerNetwork(configuration);
                            net.init(params, false);
                        }
                        default -> { // UPDATER_STATE
                            if (net == null) {
                                throw new ModelFileException(path, entry, COEFFICIENTS + " must come before it", null);
                            }
                            INDArray view = net.getUpdater().getStateViewArray();
                            if (view == null || view.length() == 0) {
                                throw new ModelFileException(path, entry, "the configuration's updater keeps no state",
                                        null);
                            }
                            // straight into the updater's own state (what setStateViewArray would copy it to)
                            readArray(zip, view, maxBytes, path, entry);
                        }
                    }
                    if (zip.read() != -1) {
                        throw new ModelFileException(path, entry, "unexpected bytes after the expected content", null);
                    }
                }
                entry = null;
                if (net == null) {
                    throw new ModelFileException(path, null, "not a network zip: it lacks "
                            + (configuration == null ? CONFIGURATION : COEFFICIENTS), null);
                }
                return net;
            }
        } catch (ModelFileException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new ModelFileException(path, entry, "unreadable, truncated or corrupt file (" + e + ")", e);
        }
    }

    private static void checkEntry(String path, String name, java.util.Set<String> seen) {
        String n = name.replace('\\', '/');
        if (n.startsWith("/") || n.matches("^[A-Za-z]:.*") || n.equals("..") || n.startsWith("../")
                || n.contains("/../") || n.endsWith("/..")) {
            throw new ModelFileException(path, name, "unsafe entry name (absolute or with '..')", null);
        }
        if (!ENTRIES.contains(name)) {
            throw new ModelFileException(path, name, "unexpected entry; a network zip holds only "
                    + String.join(", ", ENTRIES) + " and nothing else is read", null);
        }
        if (!seen.add(name)) {
            throw new ModelFileException(path, name, "duplicate entry", null);
        }
    }

    private static byte[] readAtMost(InputStream in, String path, String entry) throws IOException {
        byte[] b = in.readNBytes(MAX_CONFIGURATION_BYTES + 1);
        if (b.length > MAX_CONFIGURATION_BYTES) {
            throw new ModelFileException(path, entry, "larger than " + MAX_CONFIGURATION_BYTES + " bytes", null);
        }
        return b;
    }

    /** Parses the configuration after checking that every class it names lies in an allowed package. */
    private static MultiLayerConfiguration configuration(String path, byte[] bytes) throws IOException {
        String json = new String(bytes, StandardCharsets.UTF_8);
        checkClassNames(path, PLAIN_JSON.readTree(json));
        try {
            return MultiLayerConfiguration.fromJson(json);
        } catch (RuntimeException e) {
            throw new ModelFileException(path, CONFIGURATION, "not a DL4J MultiLayerConfiguration (" + e + ")", e);
        }
    }

    private static void checkClassNames(String path, JsonNode node) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                if (f.getKey().equals("@class")) {
                    String c = f.getValue().asText();
                    if (ALLOWED_CLASS_PREFIXES.stream().noneMatch(c::startsWith)) {
                        throw new ModelFileException(path, CONFIGURATION, "names class " + c
                                + ", outside the packages a network configuration may use ("
                                + String.join(", ", ALLOWED_CLASS_PREFIXES) + ")", null);
                    }
                }
                checkClassNames(path, f.getValue());
            }
        } else if (node.isArray()) {
            for (JsonNode c : node) {
                checkClassNames(path, c);
            }
        }
    }

    /** What {@code MultiLayerNetwork.init} allocates for this configuration. */
    static long numParams(MultiLayerConfiguration configuration) {
        long n = 0;
        for (NeuralNetConfiguration c : configuration.getConfs()) {
            n = Math.addExact(n, c.getLayer().initializer().numParams(c));
        }
        return n;
    }

    private static void checkFits(long values, int width, long maxBytes, String path, String entry) {
        if (values > Integer.MAX_VALUE - 8 || values * width > maxBytes) {
            throw new ModelFileException(path, entry, values + " values of " + width
                    + " bytes cannot fit in a file of this size", null);
        }
    }

    /**
     * Reads one array in {@code Nd4j.write}'s format into {@code dst}, a row vector allocated for what the
     * configuration needs: the file's shape and length must equal it, and every length is checked before use.
     */
    private static void readArray(InputStream in, INDArray dst, long maxBytes, String path, String entry)
            throws IOException {
        long expected = dst.length();
        checkFits(expected, 4, maxBytes, path, entry);
        DataInputStream d = new DataInputStream(in);
        Header shapeHeader = header(d, path, entry);
        if (shapeHeader.type != DataType.LONG && shapeHeader.type != DataType.INT
                || shapeHeader.length < 4 || shapeHeader.length > 2L * MAX_RANK + 4) {
            throw new ModelFileException(path, entry, "bad shape header (" + shapeHeader + ")", null);
        }
        long[] shapeInfo = new long[(int) shapeHeader.length];
        for (int i = 0; i < shapeInfo.length; i++) {
            shapeInfo[i] = shapeHeader.type == DataType.LONG ? d.readLong() : d.readInt();
        }
        long rank = shapeInfo[0];
        if (rank < 1 || rank > MAX_RANK || shapeInfo.length != 2 * rank + 4) {
            throw new ModelFileException(path, entry, "bad shape (rank " + rank + ")", null);
        }
        long elements = 1;
        for (int i = 1; i <= rank; i++) {
            if (shapeInfo[i] < 0 || shapeInfo[i] > expected) {
                throw new ModelFileException(path, entry, "dimension " + shapeInfo[i] + " where the configuration has "
                        + expected + " values", null);
            }
            elements *= shapeInfo[i]; // factors <= expected < 2^31: no overflow before the break
            if (elements > expected) {
                break;
            }
        }
        Header data = header(d, path, entry);
        if (elements != expected || data.length != expected) {
            throw new ModelFileException(path, entry, "holds " + data.length + " values (shape " + elements
                    + ") where the configuration has " + expected, null);
        }
        if (data.type != DataType.FLOAT && data.type != DataType.DOUBLE) {
            throw new ModelFileException(path, entry, "values of type " + data.type + "; expected FLOAT or DOUBLE",
                    null);
        }
        int width = data.type == DataType.FLOAT ? 4 : 8;
        checkFits(expected, width, maxBytes, path, entry);
        // a dense array that owns its buffer is filled in place; anything else through a copy
        boolean inPlace = dst.offset() == 0 && dst.data().length() == expected && !dst.isView();
        INDArray target = inPlace ? dst : Nd4j.createUninitialized(dst.dataType(), 1, expected);
        DataBuffer buf = target.data();
        byte[] chunk = new byte[width << 14];
        ByteBuffer bb = ByteBuffer.wrap(chunk); // big-endian, as DataOutputStream wrote it
        for (long i = 0; i < expected; ) {
            int n = (int) Math.min(chunk.length / width, expected - i);
            d.readFully(chunk, 0, n * width);
            for (int j = 0; j < n; j++, i++) {
                buf.put(i, width == 4 ? bb.getFloat(j * 4) : bb.getDouble(j * 8));
            }
        }
        if (!inPlace) {
            dst.assign(target.reshape(dst.shape()));
        }
    }

    private record Header(String mode, long length, DataType type) {
    }

    private static Header header(DataInputStream d, String path, String entry) throws IOException {
        String mode = d.readUTF(); // a 2-byte length, so bounded
        long length = switch (mode) {
            case "DIRECT", "HEAP", "JAVACPP" -> d.readInt();
            case "LONG_SHAPE", "MIXED_DATA_TYPES" -> d.readLong();
            default -> throw new ModelFileException(path, entry, "unknown ND4J buffer mode '"
                    + mode.substring(0, Math.min(40, mode.length())) + "'", null);
        };
        String type = d.readUTF();
        DataType t = switch (type) {
            case "LONG" -> DataType.LONG;
            case "INT" -> DataType.INT;
            case "FLOAT" -> DataType.FLOAT;
            case "DOUBLE" -> DataType.DOUBLE;
            default -> throw new ModelFileException(path, entry, "unsupported ND4J data type '"
                    + type.substring(0, Math.min(40, type.length())) + "'", null);
        };
        if (length < 0) {
            throw new ModelFileException(path, entry, "negative length " + length, null);
        }
        return new Header(mode, length, t);
    }
}
