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

# Builds the project (once) and prints the classpath of the batch-job module, Spark included.
spark_dl_classpath() {
  local cpfile="$SPARK_DL_HOME/pipelines/target/classpath.txt"
  local jar
  jar=$(ls "$SPARK_DL_HOME"/pipelines/target/spark-dl-pipelines-*.jar 2>/dev/null | head -n 1)
  if [ -z "$jar" ] || [ ! -f "$cpfile" ] || [ -n "$(find "$SPARK_DL_HOME/spark-dl/src" "$SPARK_DL_HOME/pipelines/src" -newer "$cpfile" -type f 2>/dev/null | head -n 1)" ]; then
    echo "spark-dl: building (first run or sources changed)..." >&2
    (cd "$SPARK_DL_HOME" && mvn -q -B -DskipTests package dependency:build-classpath \
        -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=compile >&2) || {
      echo "spark-dl: error: build failed (see Maven output above)" >&2; exit 1; }
    jar=$(ls "$SPARK_DL_HOME"/pipelines/target/spark-dl-pipelines-*.jar | head -n 1)
  fi
  echo "$jar:$(cat "$cpfile")"
}
