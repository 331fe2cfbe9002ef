package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// startClusterUp runs 'mrun cluster up' with args in process until the test ends, and
// returns its URL and what it wrote to stderr.
func startClusterUp(t *testing.T, args ...string) (url, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"cluster", "up", "--port", "-1"}, args...), streams{Out: &out, Err: &errb})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("mrun cluster up: exit %d: %s", code, errb.String())
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	waitFor(t, wctx, "the URL", func() bool { return strings.Count(errb.String(), "\n") >= 2 })
	return strings.TrimSpace(out.String()), errb.String()
}

// mrunIn runs mrun in process and returns what it printed and its exit status. A command
// still running after a minute (a worker the server did not stop) is interrupted.
func mrunIn(args ...string) (stdout, stderr string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb syncBuffer
	code = run(ctx, args, streams{Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

// 'mrun cluster up --auth' hands out one key per role and prints where, never the keys;
// each command says what the server refused and which key it needs.
func TestClusterAuth(t *testing.T) {
	for _, env := range []string{clusterEnv, clusterNkeyEnv, clusterCredsEnv, clusterCAEnv} {
		t.Setenv(env, "")
	}
	t.Setenv("MRUN_CACHE_DIR", t.TempDir())
	data := t.TempDir()
	url, up := startClusterUp(t, "--auth", "--data", data)
	creds := filepath.Join(data, "creds")
	key := func(r cluster.Role) string { return filepath.Join(creds, string(r)+".nk") }
	if want := "mrun cluster up: JetStream server at " + url + ", data in " + data + "; stop it with Ctrl-C\n" +
		"mrun cluster up: credentials in " + creds + ": pass one with --nkey: " + key(cluster.RoleClient) + " (mrun run, call, cluster status), " +
		key(cluster.RoleWorker) + " (mrun worker), " + key(cluster.RoleAdmin) + " (mrun cluster prune)\n"; up != want {
		t.Fatalf("mrun cluster up said\n%s\nwant\n%s", up, want)
	}
	if fi, err := os.Stat(creds); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the credentials directory: %v, %v", fi.Mode(), err)
	}
	for _, r := range cluster.Roles {
		fi, err := os.Stat(key(r))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, %v", key(r), fi.Mode(), err)
		}
		b, _ := os.ReadFile(key(r))
		kp, err := nkeys.ParseDecoratedNKey(b)
		if err != nil {
			t.Fatalf("%s: %v", key(r), err)
		}
		seed, _ := kp.Seed()
		if strings.Contains(up, string(seed)) {
			t.Fatalf("mrun cluster up printed the %s seed", r)
		}
	}

	// No key, and a key the server does not know.
	_, stderr, code := mrunIn("cluster", "status", "--cluster", url)
	if want := "mrun: --cluster " + url + ": connect to " + url + ": the server refused these credentials (nats: authorization violation): " +
		"this server asks for credentials: pass --nkey FILE (client.nk, worker.nk or admin.nk from the directory 'mrun cluster up' printed) or --creds FILE\n"; code != 2 || stderr != want {
		t.Errorf("status without a key: exit %d, stderr %q, want %q", code, stderr, want)
	}
	stranger := filepath.Join(t.TempDir(), "stranger.nk")
	kp, _ := nkeys.CreateUser()
	seed, _ := kp.Seed()
	writeFile(t, stranger, string(seed))
	_, stderr, code = mrunIn("cluster", "status", "--cluster", url, "--nkey", stranger)
	if want := "mrun: --cluster " + url + ": connect to " + url + ": the server refused these credentials (nats: authorization violation): " +
		"pass the --nkey or --creds FILE this server gave out\n"; code != 2 || stderr != want {
		t.Errorf("status with a stranger's key: exit %d, stderr %q, want %q", code, stderr, want)
	}

	// The client's key, from the environment, lists the workers.
	t.Setenv(clusterNkeyEnv, key(cluster.RoleClient))
	if stdout, stderr, code := mrunIn("cluster", "status", "--cluster", url); code != 0 || stdout != "" || stderr != "no workers at "+url+"\n" {
		t.Errorf("status with the client's key: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// A result to prune, written as the admin.
	nkey, err := nats.NkeyOptionFromSeed(key(cluster.RoleAdmin))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, nkey)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(context.Background(), cluster.ResultBucket)
	if err != nil {
		t.Fatal(err)
	}
	const k = "00112233445566778899aabbccddeeff"
	if _, err := kv.Put(context.Background(), k, []byte{0, 1}); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = mrunIn("cluster", "prune", "--cluster", url, "--older-than", "0")
	if want := "mrun: prune " + url + `: the server denied this to these credentials: permissions violation for publish to "$KV.mrun_results.` + k +
		`": this needs the admin's credentials (--nkey admin.nk, from the directory 'mrun cluster up' printed)` + "\n"; code != 2 || stderr != want {
		t.Errorf("prune with the client's key: exit %d, stderr %q, want %q", code, stderr, want)
	}
	if stdout, stderr, code := mrunIn("cluster", "prune", "--cluster", url, "--older-than", "0", "--nkey", key(cluster.RoleAdmin)); code != 0 ||
		stdout != "removed 1 result and 0 large values (0 B) stored more than 0s ago; 0 younger results stay\n" {
		t.Errorf("prune with the admin's key: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// A worker with the client's key stops at once.
	_, stderr, code = mrunIn("worker", "--cluster", url, "--quiet")
	if want := regexp.MustCompile(`^mrun: the server denied this to these credentials: permissions violation for (subscription to "mrun\.cancel"|publish to "\$KV\.mrun_workers\.[^"]+"|publish to "\$JS\.API\.CONSUMER\.MSG\.NEXT\.MRUN_TASKS\.mrun-workers"): this needs the worker's credentials \(--nkey worker\.nk, from the directory 'mrun cluster up' printed\)\n$`); code != 2 || !want.MatchString(stderr) {
		t.Errorf("worker with the client's key: exit %d, stderr %q", code, stderr)
	}
}

// On loopback, 'mrun cluster up' stays open, and says so.
func TestClusterUpOpenOnLoopback(t *testing.T) {
	data := t.TempDir()
	url, up := startClusterUp(t, "--data", data)
	if want := "mrun cluster up: JetStream server at " + url + ", data in " + data + "; stop it with Ctrl-C\n" +
		"mrun cluster up: no authentication: every program on this machine may use the cluster (--auth requires keys)\n"; up != want {
		t.Fatalf("mrun cluster up said\n%s\nwant\n%s", up, want)
	}
	if _, err := os.Stat(filepath.Join(data, "creds")); !os.IsNotExist(err) {
		t.Fatalf("credentials written for an open server: %v", err)
	}
}
