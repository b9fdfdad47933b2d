package main

import (
	"crypto/rand"
	"os"
	"time"
)

// main wires the process to run: arguments, standard streams, the
// environment, the wall clock and the system's random source.
func main() {
	env := environment{lookupEnv: os.LookupEnv, now: time.Now, random: rand.Reader, ownProcess: true}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, env))
}
