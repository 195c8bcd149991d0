# Sourced by spark-dl's launchers: finds Java 17 and sets the JVM flags every spark-dl JVM needs.
# shellcheck shell=bash
SPARK_DL_HOME="${SPARK_DL_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

find_java17() {
  if [ -n "${JAVA_HOME:-}" ] && "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "17'; then
    echo "$JAVA_HOME/bin/java"; return
  fi
  if java -version 2>&1 | grep -q 'version "17'; then
    command -v java; return
  fi
  for d in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17* /usr/lib/jvm/temurin-17*; do
    if [ -x "$d/bin/java" ]; then echo "$d/bin/java"; return; fi
  done
  echo "spark-dl: error: Java 17 is required (Spark 3.5 and Hadoop fail on newer JDKs); set JAVA_HOME" >&2
  exit 1
}

# Spark's own Java 17 module flags (org.apache.spark.launcher.JavaModuleOptions).
SPARK_DL_JAVA_OPENS="-XX:+IgnoreUnrecognizedVMOptions \
--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
--add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
--add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED \
--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED \
--add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED \
-Djdk.reflect.useDirectMethodHandle=false"

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

# Builds the project (once) and prints the classpath of the batch-job module, Spark included.
# SPARK_DL_CLASSPATH, when set, is used as it is (tests pass their own classpath; no build).
spark_dl_classpath() {
  if [ -n "${SPARK_DL_CLASSPATH:-}" ]; then echo "$SPARK_DL_CLASSPATH"; return; fi
  local cpfile="$SPARK_DL_HOME/pipelines/target/classpath-$SPARK_DL_PROFILE.txt"
  local jar
  jar=$(ls "$SPARK_DL_HOME"/pipelines/target/spark-dl-pipelines-*.jar 2>/dev/null | grep -v -- '-app\.jar$' | head -n 1)
  if [ -z "$jar" ] || [ ! -f "$cpfile" ] || [ -n "$(find "$SPARK_DL_HOME/spark-dl/src" "$SPARK_DL_HOME/pipelines/src" -newer "$cpfile" -type f 2>/dev/null | head -n 1)" ]; then
    echo "spark-dl: building (first run or sources changed)..." >&2
    (cd "$SPARK_DL_HOME" && mvn -q -B -P"$SPARK_DL_PROFILE" -DskipTests package dependency:build-classpath \
        -Dmdep.outputFile="target/classpath-$SPARK_DL_PROFILE.txt" -Dmdep.includeScope=compile >&2) || {
      echo "spark-dl: error: build failed (see Maven output above)" >&2; exit 1; }
    jar=$(ls "$SPARK_DL_HOME"/pipelines/target/spark-dl-pipelines-*.jar | grep -v -- '-app\.jar$' | head -n 1)
  fi
  echo "$jar:$(cat "$cpfile")"
}

# Builds (when missing or older than the sources) and prints the shaded spark-submit jar,
# pipelines/target/spark-dl-pipelines-VERSION-app.jar. SPARK_DL_APP_JAR, when set, is used as it is.
spark_dl_app_jar() {
  if [ -n "${SPARK_DL_APP_JAR:-}" ]; then echo "$SPARK_DL_APP_JAR"; return; fi
  local jar
  jar=$(ls "$SPARK_DL_HOME"/pipelines/target/spark-dl-pipelines-*-app.jar 2>/dev/null | head -n 1)
  if [ -z "$jar" ] || [ -n "$(find "$SPARK_DL_HOME/spark-dl/src/main" "$SPARK_DL_HOME/pipelines/src/main" -newer "$jar" -type f 2>/dev/null | head -n 1)" ]; then
    echo "spark-dl: building the application jar (first run or sources changed)..." >&2
    (cd "$SPARK_DL_HOME" && mvn -q -B -P"$SPARK_DL_PROFILE" -DskipTests package >&2) || {
      echo "spark-dl: error: build failed (see Maven output above)" >&2; exit 1; }
    jar=$(ls "$SPARK_DL_HOME"/pipelines/target/spark-dl-pipelines-*-app.jar | head -n 1)
  fi
  echo "$jar"
}
