#!/usr/bin/env bash
# Runs docs/java-api.md's quickstart the way a user does: `./mvnw install -DskipTests`, then a separate Maven
# project that depends on merv-core, merv-encoders, merv-llm and merv-data only, compiled and run.
# The install goes to a private copy of the local repository (hard links), so ~/.m2 is left as it was.
# Usage: tools/quickstart/check.sh [WORK_DIR]   (needs a JDK 17; offline once ~/.m2 holds the dependencies)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${1:-$(mktemp -d -t merv-quickstart-XXXXXX)}"
repo="$work/m2"
mkdir -p "$work/consumer/src/main/java"
if [ ! -d "$repo" ]; then
  cp -al "$HOME/.m2/repository" "$repo" 2>/dev/null || mkdir -p "$repo"
fi
rm -rf "$repo/dev/merv"
version=$(sed -n 's:.*<version>\(.*-SNAPSHOT\)</version>.*:\1:p' "$root/pom.xml" | head -1)
echo "quickstart: installing merv $version into $repo" >&2
(cd "$root" && ./mvnw -B -q -Dmaven.repo.local="$repo" install -DskipTests)

# the ```java block that declares LibraryQuickstart
awk '/^```java$/{inb=1; buf=""; next} /^```$/{if (inb && buf ~ /public final class LibraryQuickstart/) {printf "%s", buf; exit} inb=0; next} inb{buf=buf $0 "\n"}' \
  "$root/docs/java-api.md" > "$work/consumer/src/main/java/LibraryQuickstart.java"
[ -s "$work/consumer/src/main/java/LibraryQuickstart.java" ] || { echo "no quickstart block in docs/java-api.md" >&2; exit 1; }

deps=""
for m in merv-core merv-encoders merv-llm merv-data; do
  deps="$deps<dependency><groupId>dev.merv</groupId><artifactId>$m</artifactId><version>$version</version></dependency>"
done
cat > "$work/consumer/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId><artifactId>merv-consumer</artifactId><version>1</version>
  <properties><maven.compiler.release>17</maven.compiler.release><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencies>$deps</dependencies>
</project>
POM
cd "$work/consumer"
"$root/mvnw" -B -q -Dmaven.repo.local="$repo" compile dependency:build-classpath -Dmdep.outputFile=cp.txt
echo "quickstart: running the consumer project ($work/consumer)" >&2
java -Dai.djl.offline=true -cp "target/classes:$(cat cp.txt)" LibraryQuickstart | tee "$work/quickstart.out"
tail -1 "$work/quickstart.out" | grep -qE '^library: trained [0-9]+ steps, loss [0-9.]+ -> [0-9.]+, answer ".*"$'
