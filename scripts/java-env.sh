# Sourced by spark-dl's launchers: picks the Spark line, finds Java 17 or newer and sets the JVM flags every
# spark-dl JVM needs. Works in the source tree (builds with Maven on first use) and in a binary distribution
# (bin/, lib/, conf/: no Maven, no source).
# shellcheck shell=bash
SPARK_DL_HOME="${SPARK_DL_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

# The Spark line this run uses: 3.5 (Scala 2.12) or 4.x (Scala 2.13).
#   - With SPARK_HOME set: the line of that Spark (its RELEASE file, else its spark-core jar's version).
#   - Else SPARK_DL_SPARK_LINE when set; else, in a binary distribution, the line it was built for
#     (lib/spark-line); else 3.5.
spark_home_version() {
  local v=""
  [ -f "$SPARK_HOME/RELEASE" ] && v=$(grep -o -m1 -E 'Spark [0-9]+\.[0-9]+(\.[0-9]+)?' "$SPARK_HOME/RELEASE" | cut -d' ' -f2)
  if [ -z "$v" ]; then
    v=$(ls "$SPARK_HOME"/jars/spark-core_*.jar 2>/dev/null | head -n 1 | sed -E 's/.*spark-core_[0-9.]+-([0-9][^/]*)\.jar$/\1/')
  fi
  echo "$v"
}
SPARK_DL_BUILT_LINE=""
[ -f "$SPARK_DL_HOME/lib/spark-line" ] && SPARK_DL_BUILT_LINE=$(cat "$SPARK_DL_HOME/lib/spark-line")
if [ -n "${SPARK_HOME:-}" ]; then
  _v=$(spark_home_version)
  case "$_v" in
    3.5|3.5.*) SPARK_DL_SPARK_LINE=3.5 ;;
    4|4.*) SPARK_DL_SPARK_LINE=4.x ;;
    *) echo "spark-dl: error: SPARK_HOME=$SPARK_HOME is Spark ${_v:-of unknown version (no RELEASE file, no jars/spark-core_*.jar)}; spark-dl runs on Spark 3.5.x and 4.x" >&2
       exit 1 ;;
  esac
else
  SPARK_DL_SPARK_LINE="${SPARK_DL_SPARK_LINE:-${SPARK_DL_BUILT_LINE:-3.5}}"
fi
case "$SPARK_DL_SPARK_LINE" in
  3.5) SPARK_DL_SCALA=2.12; SPARK_DL_LINE_PROFILE=spark3.5 ;;
  4.x) SPARK_DL_SCALA=2.13; SPARK_DL_LINE_PROFILE=spark4 ;;
  *) echo "spark-dl: error: SPARK_DL_SPARK_LINE=$SPARK_DL_SPARK_LINE; use 3.5 or 4.x" >&2; exit 1 ;;
esac
if [ -n "$SPARK_DL_BUILT_LINE" ] && [ "$SPARK_DL_BUILT_LINE" != "$SPARK_DL_SPARK_LINE" ]; then
  echo "spark-dl: error: this distribution is built for Spark $SPARK_DL_BUILT_LINE, but ${SPARK_HOME:+SPARK_HOME=$SPARK_HOME is }Spark $SPARK_DL_SPARK_LINE; use the spark-dl-*-bin-spark$SPARK_DL_SPARK_LINE distribution" >&2
  exit 1
fi
export SPARK_DL_SPARK_LINE SPARK_DL_SCALA

java_major() {
  "$1" -version 2>&1 | sed -n -E '1s/.*version "(1\.)?([0-9]+).*/\2/p'
}

# Java 17 or newer (Spark 3.5 and 4.x both run on 17 and 21). JAVA_HOME first, then java on the PATH,
# then the usual install folders.
find_java() {
  local j m
  for j in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null)" \
           /usr/lib/jvm/java-17-openjdk-amd64/bin/java /usr/lib/jvm/java-21-openjdk-amd64/bin/java /usr/lib/jvm/*/bin/java; do
    [ -n "$j" ] && [ -x "$j" ] || continue
    m=$(java_major "$j")
    if [ -n "$m" ] && [ "$m" -ge 17 ]; then
      if [ "$SPARK_DL_SPARK_LINE" = 3.5 ] && [ "$m" -ge 23 ]; then
        echo "spark-dl: warning: $j is Java $m; Spark 3.5 supports Java 17 and 21 (its Hadoop fails on 23 and newer)" >&2
      fi
      echo "$j"; return
    fi
  done
  echo "spark-dl: error: Java 17 or newer is required; set JAVA_HOME" >&2
  exit 1
}
# Older name, kept for scripts that still call it.
find_java17() { find_java; }

# Spark's own JVM module flags (org.apache.spark.launcher.JavaModuleOptions of each line: 3.5.7 and 4.2.0),
# for the JVMs these scripts start themselves; spark-submit and SparkContext add the same to the JVMs Spark
# starts. The 4.x list adds jdk.incubator.vector, krb5, Netty settings and native access.
SPARK_DL_JAVA_OPENS="-XX:+IgnoreUnrecognizedVMOptions \
--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
--add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
--add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED \
--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED \
--add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED"
if [ "$SPARK_DL_SPARK_LINE" = 3.5 ]; then
  SPARK_DL_JAVA_OPENS="$SPARK_DL_JAVA_OPENS -Djdk.reflect.useDirectMethodHandle=false"
else
  SPARK_DL_JAVA_OPENS="$SPARK_DL_JAVA_OPENS --add-modules=jdk.incubator.vector \
--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true \
-Dio.netty.allocator.type=pooled -Dio.netty.handler.ssl.defaultEndpointVerificationAlgorithm=NONE \
--enable-native-access=ALL-UNNAMED"
fi
# Spark 4.2 also passes --sun-misc-unsafe-memory-access=allow, an option only Java 23 and newer accept.
if [ "$SPARK_DL_SPARK_LINE" = 4.x ]; then
  _m=$(java_major "$(find_java 2>/dev/null || true)" 2>/dev/null || true)
  if [ -n "$_m" ] && [ "$_m" -ge 23 ]; then
    SPARK_DL_JAVA_OPENS="$SPARK_DL_JAVA_OPENS --sun-misc-unsafe-memory-access=allow"
  fi
fi

# Each Spark task runs its own ND4J ops; with one task per core, one OpenMP thread per task avoids
# oversubscription (measured ~30% faster than 2 threads per task on 2 cores). Override by exporting it.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

# Maven profile: cpu (default) or cuda. With cuda, ND4J's CPU backend stays on the classpath as fallback.
SPARK_DL_PROFILE="${SPARK_DL_PROFILE:-cpu}"

# JavaCPP loads libnd4j from <platform><extension>/: the cpu profile ships the oneDNN build
# (linux-x86_64-onednn), which makes convolutions ~3.6x faster than the plain build.
if [ "$SPARK_DL_PROFILE" = cpu ]; then
  SPARK_DL_JAVA_OPENS="$SPARK_DL_JAVA_OPENS -Dorg.bytedeco.javacpp.platform.extension=-onednn"
fi

# With the CUDA build, choose the CPU backend when no GPU that nd4j-cuda-11.6 can run (compute
# capability 3.7-8.6) is present. ND4J reads these priorities once, when it starts.
choose_nd4j_backend() {
  [ "$SPARK_DL_PROFILE" = cuda ] || return 0
  local caps bad
  caps=$(nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader 2>/dev/null || true)
  if [ -z "$caps" ]; then
    echo "spark-dl: no NVIDIA GPU found (nvidia-smi); using the CPU backend" >&2
    export BACKEND_PRIORITY_GPU=0 BACKEND_PRIORITY_CPU=100
    SPARK_DL_JAVA_OPENS="$SPARK_DL_JAVA_OPENS -Dorg.bytedeco.javacpp.platform.extension=-onednn"; return 0
  fi
  bad=$(echo "$caps" | awk -F', *' '{ split($2, v, "."); cc = v[1] * 10 + v[2]; if (cc < 37 || cc > 86) print $1 " (compute capability " $2 ")" }')
  if [ -n "$bad" ]; then
    echo "spark-dl: $bad: nd4j-cuda-11.6 supports compute capability 3.7-8.6 only; falling back to the CPU backend" >&2
    export BACKEND_PRIORITY_GPU=0 BACKEND_PRIORITY_CPU=100
    SPARK_DL_JAVA_OPENS="$SPARK_DL_JAVA_OPENS -Dorg.bytedeco.javacpp.platform.extension=-onednn"
  else
    SPARK_DL_JAVA_OPENS="$SPARK_DL_JAVA_OPENS -Dorg.bytedeco.javacpp.platform.extension=-cudnn"
  fi
}

# Builds the project for this Spark line with Maven (source tree only). target/ holds one line's build at a
# time: switching lines cleans it first (pipelines/target/spark-line records the line the launcher built).
spark_dl_build() {
  local marker="$SPARK_DL_HOME/pipelines/target/spark-line" clean=""
  # a build of unknown line (no marker: mvn run by hand) is cleaned too
  if [ "$(cat "$marker" 2>/dev/null)" != "$SPARK_DL_SPARK_LINE" ]; then clean=clean; fi
  if [ ! -f "$SPARK_DL_HOME/pom.xml" ]; then
    echo "spark-dl: error: no build in $SPARK_DL_HOME (neither lib/ of a distribution nor a source tree with pom.xml)" >&2
    exit 1
  fi
  echo "spark-dl: building for Spark $SPARK_DL_SPARK_LINE (first run, sources changed or another line)..." >&2
  (cd "$SPARK_DL_HOME" && mvn -q -B -P"$SPARK_DL_PROFILE" -P"$SPARK_DL_LINE_PROFILE" -DskipTests -Dassembly.skipAssembly $clean package \
      dependency:build-classpath -Dmdep.outputFile="target/classpath-$SPARK_DL_PROFILE.txt" \
      -Dmdep.includeScope=compile >&2) || {
    echo "spark-dl: error: build failed (see Maven output above)" >&2; exit 1; }
  echo "$SPARK_DL_SPARK_LINE" > "$marker"
  # the stamp spark_dl_stale compares the sources with: Maven leaves an unchanged classpath file's time alone
  touch "$SPARK_DL_HOME/pipelines/target/classpath-$SPARK_DL_PROFILE.txt"
}

# True when the build in pipelines/target is missing, for another line, or older than the sources.
spark_dl_stale() {
  local stamp="$1"
  [ -f "$stamp" ] || return 0
  [ "$(cat "$SPARK_DL_HOME/pipelines/target/spark-line" 2>/dev/null)" = "$SPARK_DL_SPARK_LINE" ] || return 0
  [ -n "$(find "$SPARK_DL_HOME/spark-dl/src/main" "$SPARK_DL_HOME/pipelines/src/main" "$SPARK_DL_HOME/pom.xml" \
      "$SPARK_DL_HOME/spark-dl/pom.xml" "$SPARK_DL_HOME/pipelines/pom.xml" -newer "$stamp" 2>/dev/null | head -n 1)" ]
}

# Prints the classpath of the batch jobs with Spark included (embedded Spark). In a distribution: the app jar
# and lib/spark/ (the jars a Spark distribution of this line ships). In the source tree: the module's jar and
# its Maven classpath, built when needed. SPARK_DL_CLASSPATH, when set, is used as it is (tests pass their
# own classpath; no build).
spark_dl_classpath() {
  if [ -n "${SPARK_DL_CLASSPATH:-}" ]; then echo "$SPARK_DL_CLASSPATH"; return; fi
  if [ -n "$SPARK_DL_BUILT_LINE" ]; then
    echo "$(spark_dl_app_jar):$SPARK_DL_HOME/lib/torch/*:$SPARK_DL_HOME/lib/spark/*"; return
  fi
  local cpfile="$SPARK_DL_HOME/pipelines/target/classpath-$SPARK_DL_PROFILE.txt" jar
  if spark_dl_stale "$cpfile"; then spark_dl_build; fi
  jar=$(ls "$SPARK_DL_HOME"/pipelines/target/spark-dl-pipelines_*.jar | grep -v -E -- '-(app|sources|javadoc)\.jar$' | head -n 1)
  echo "$jar:$(cat "$cpfile")"
}

# Prints the shaded spark-submit jar (lib/ of a distribution, or pipelines/target/spark-dl-pipelines_SCALA-
# VERSION-app.jar, built when needed). SPARK_DL_APP_JAR, when set, is used as it is.
spark_dl_app_jar() {
  if [ -n "${SPARK_DL_APP_JAR:-}" ]; then echo "$SPARK_DL_APP_JAR"; return; fi
  local jar
  if [ -n "$SPARK_DL_BUILT_LINE" ]; then
    jar=$(ls "$SPARK_DL_HOME"/lib/spark-dl-pipelines_*-app.jar 2>/dev/null | head -n 1)
    [ -n "$jar" ] || { echo "spark-dl: error: no lib/spark-dl-pipelines_*-app.jar in $SPARK_DL_HOME" >&2; exit 1; }
    echo "$jar"; return
  fi
  jar=$(ls "$SPARK_DL_HOME"/pipelines/target/spark-dl-pipelines_*-app.jar 2>/dev/null | head -n 1)
  if [ -z "$jar" ] || spark_dl_stale "$jar"; then
    spark_dl_build
    jar=$(ls "$SPARK_DL_HOME"/pipelines/target/spark-dl-pipelines_*-app.jar | head -n 1)
  fi
  echo "$jar"
}

# Prints the torch engine's native jars, joined by $1 (default ","): lib/torch/*.jar of a distribution, or
# pipelines/target/torch-natives/*.jar (mvn package copies them there). They are not inside the app jar
# (libtorch's linux-x86_64 natives are 90 MB packed, 364 MB unpacked); spark-submit ships them with --jars.
spark_dl_torch_jars() {
  local sep="${1:-,}" dir out="" j
  if [ -n "$SPARK_DL_BUILT_LINE" ]; then dir="$SPARK_DL_HOME/lib/torch"; else dir="$SPARK_DL_HOME/pipelines/target/torch-natives"; fi
  for j in "$dir"/*.jar; do
    [ -f "$j" ] || continue
    out="${out:+$out$sep}$j"
  done
  echo "$out"
}
