/**
 * A stand-in for mvn: a small shell script that, for `dependency:get`, drops a jar the test
 * built into its own local repository, and for `help:evaluate` prints where that repository is
 * (as mvn does for settings.localRepository). Every call's arguments are logged.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FakeMvn {
  /** The executable (for SURGEWATCH_MVN, or put its folder first on PATH). */
  command: string;
  /** Its folder. */
  bin: string;
  /** Its local repository. */
  repository: string;
  /** The arguments of every call so far. */
  calls(): string[][];
  /** The jar it delivers from now on. */
  setJar(jar: Buffer): void;
}

/** `fail`: exit with this code after printing an error, as mvn does when it cannot resolve. */
export function fakeMvn(dir: string, jar: Buffer, opts: { fail?: number } = {}): FakeMvn {
  const bin = join(dir, 'bin');
  const repository = join(dir, 'repository');
  const log = join(dir, 'calls.log');
  const source = join(dir, 'delivered.jar');
  mkdirSync(bin, { recursive: true });
  writeFileSync(source, jar);
  const script = `#!/bin/sh
printf '%s\\n' "$*" >> '${log}'
for a in "$@"; do case "$a" in -Dartifact=*) art="\${a#-Dartifact=}";; esac; done
case "$*" in
  *:get*)
    ${opts.fail ? `echo "[ERROR] Failed to execute goal: Could not resolve artifact $art"; exit ${opts.fail}` : ''}
    g=$(echo "$art" | cut -d: -f1 | tr . /); a=$(echo "$art" | cut -d: -f2); v=$(echo "$art" | cut -d: -f3)
    mkdir -p '${repository}'/"$g/$a/$v" && cp '${source}' '${repository}'/"$g/$a/$v/$a-$v.jar" ;;
  *:evaluate*) printf '%s' '${repository}' ;;
  *) echo "fake mvn: unexpected call: $*" >&2; exit 2 ;;
esac
`;
  const command = join(bin, 'mvn');
  writeFileSync(command, script);
  chmodSync(command, 0o755);
  return {
    command,
    bin,
    repository,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split(' '))
        : [],
    setJar: (next) => writeFileSync(source, next),
  };
}
