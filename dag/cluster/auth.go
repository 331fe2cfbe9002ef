package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Role is what a connection to a cluster may do there. A server started with ServerConfig.CredsDir
// lets each key do what its role allows, and nothing else:
//
//   - RoleClient (a coordinator: mrun run and mrun call with --cluster, mrun cluster status)
//     submits and cancels calls, uploads modules and argument frames, and reads results,
//     worker heartbeats and failed attempts. It cannot write, delete or purge a result, take a
//     call from the queue, report a call done, or delete or purge a stream.
//   - RoleWorker (mrun worker) takes calls, writes results, heartbeats and failed attempts,
//     reports calls done, and, for the calls its guests spawn, does what a client does except
//     uploading modules. It cannot delete or purge a stream, nor the results of the others
//     but by writing over a key.
//   - RoleAdmin may do anything: the server side sets the streams and buckets up with it, and
//     mrun cluster prune needs it.
type Role string

// The roles of a cluster's credentials.
const (
	RoleClient Role = "client"
	RoleWorker Role = "worker"
	RoleAdmin  Role = "admin"
)

// Roles lists every role, in the order credentials are handed out.
var Roles = []Role{RoleClient, RoleWorker, RoleAdmin}

// FrameStore is the Object Store of argument frames too large for a task message: clients
// write there, workers read, and results stay out of clients' reach in ValueStore.
const FrameStore = "mrun_frames"

// keys holds the public nkey of each role: a server started with them admits only a
// connection that proves it holds the seed of one of them.
type keys map[Role]string

// KeyFile returns the name of the seed file of role r in a credentials directory, as
// StartServer writes it: "<role>.nk".
func KeyFile(dir string, r Role) string { return filepath.Join(dir, string(r)+".nk") }

// loadOrCreateKeys returns the public keys of the seed files in dir, one per role, creating
// the directory (mode 0700) and any missing seed file (mode 0600) with a new key. A server
// restarted on the same directory keeps its keys, so its workers and clients carry on.
func loadOrCreateKeys(dir string) (keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: credentials directory: %w", err)
	}
	ks := keys{}
	for _, r := range Roles {
		path := KeyFile(dir, r)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			kp, err := nkeys.CreateUser()
			if err != nil {
				return nil, fmt.Errorf("cluster: create the %s key: %w", r, err)
			}
			seed, _ := kp.Seed()
			b = fmt.Appendf(nil, "# mrun cluster %s key: pass this file to --nkey; keep it secret\n%s\n", r, seed)
			if err := writeSecret(path, b); err != nil {
				return nil, fmt.Errorf("cluster: write the %s key: %w", r, err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("cluster: read the %s key: %w", r, err)
		}
		kp, err := parseSeed(b)
		if err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", path, err)
		}
		ks[r], _ = kp.PublicKey()
	}
	return ks, nil
}

// writeSecret writes b to a new file that only its owner can read.
func writeSecret(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// parseSeed returns the key pair of the user seed in a seed file: the first line that
// starts with "SU" (comments and blank lines aside, as nats.go reads it).
func parseSeed(b []byte) (nkeys.KeyPair, error) {
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "SU") {
			kp, err := nkeys.FromSeed([]byte(line))
			if err != nil {
				return nil, fmt.Errorf("not a valid nkey seed: %w", err)
			}
			return kp, nil
		}
	}
	return nil, errors.New("no user nkey seed (a line starting with SU) in the file")
}

// permissions returns what role r may publish and subscribe to. Anything not allowed is
// denied. JetStream is reached through subjects: its API under $JS.API, a Key-Value bucket's
// entries under $KV.<bucket>.<key> (a put, a delete and a purge of one key are all
// publications there), an Object Store's chunks and metadata under $O.<bucket>.
func permissions(r Role) *server.Permissions {
	if r == RoleAdmin {
		return nil // everything
	}
	api := "$JS.API."
	var pub []string
	// Read: look a bucket up, get an entry, watch entries through an ordered consumer.
	read := []string{"KV_" + ResultBucket, "KV_" + WorkerBucket, "KV_" + AttemptBucket, "KV_" + CoordinatorBucket, "KV_" + BudgetBucket,
		"OBJ_" + ModuleStore, "OBJ_" + ValueStore, "OBJ_" + FrameStore}
	for _, s := range read {
		pub = append(pub, api+"STREAM.INFO."+s, api+"STREAM.MSG.GET."+s, api+"DIRECT.GET."+s, api+"DIRECT.GET."+s+".>",
			api+"CONSUMER.CREATE."+s, api+"CONSUMER.CREATE."+s+".>", api+"CONSUMER.INFO."+s+".>", api+"CONSUMER.DELETE."+s+".>")
	}
	pub = append(pub, "$JS.FC.>", // flow control of those consumers
		// Submit and cancel calls, and bind to the queue and its consumer.
		TaskSubject, CancelSubject, api+"STREAM.INFO."+TaskStream, api+"STREAM.MSG.DELETE."+TaskStream,
		api+"CONSUMER.INFO."+TaskStream+"."+WorkerGroup,
		// Large argument frames, written and deleted by the coordinator that made them.
		"$O."+FrameStore+".>", api+"STREAM.PURGE.OBJ_"+FrameStore,
		// Coordinators' heartbeats: a client's, and a worker's for the calls its guests spawn.
		"$KV."+CoordinatorBucket+".>")
	sub := []string{"_INBOX.>", doneSubject + ">",
		"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + TaskStream + "." + WorkerGroup,
		"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED." + TaskStream + "." + WorkerGroup}
	switch r {
	case RoleClient:
		pub = append(pub, "$O."+ModuleStore+".>")
	case RoleWorker:
		pub = append(pub,
			api+"CONSUMER.MSG.NEXT."+TaskStream+"."+WorkerGroup, "$JS.ACK."+TaskStream+"."+WorkerGroup+".>",
			doneSubject+">",
			"$KV."+ResultBucket+".>", "$O."+ValueStore+".>", "$KV."+WorkerBucket+".>", "$KV."+AttemptBucket+".>",
			"$KV."+BudgetBucket+".>") // the task budgets of the nested calls the worker's guests spawn
		sub = append(sub, CancelSubject)
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: sub},
	}
}

// nkeyUsers returns the server's users for keys, each with its role's permissions.
func nkeyUsers(ks keys) ([]*server.NkeyUser, error) {
	var users []*server.NkeyUser
	for _, r := range Roles {
		pub := ks[r]
		if pub == "" {
			continue
		}
		if !nkeys.IsValidPublicUserKey(pub) {
			return nil, fmt.Errorf("cluster: the %s key %q is not a public user nkey", r, pub)
		}
		users = append(users, &server.NkeyUser{Nkey: pub, Permissions: permissions(r)})
	}
	if len(users) == 0 {
		return nil, errors.New("cluster: no key to admit")
	}
	return users, nil
}

// Redact returns url (or a comma-separated list of them) with any password or token in it
// replaced by "xxxxx", so that it can be printed.
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil && strings.Contains(p, "@") { // as in "user:password@host", without a scheme
			if at := strings.LastIndex(p, "@"); at >= 0 { // unparsable, but it may hold a secret
				scheme := ""
				if j := strings.Index(p, "://"); j >= 0 && j < at {
					scheme = p[:j+3]
				}
				parts[i] = scheme + "xxxxx" + p[at:]
			}
			continue
		}
		if u.User == nil {
			continue
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		} else { // nats://TOKEN@host: the user part is the secret
			u.User = url.User("xxxxx")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// ErrAuth is wrapped by the error of Connect when the server refuses the connection's
// credentials, or asks for credentials the connection did not give.
var ErrAuth = errors.New("the server refused these credentials")

// ErrDenied is wrapped by the errors of operations the server refused because the
// connection's role may not do them.
var ErrDenied = errors.New("the server denied this to these credentials")

// ErrCredentials is wrapped by the error of Connect when a credentials or TLS file of
// Options cannot be used: missing, unreadable, or not what it should hold.
var ErrCredentials = errors.New("unusable credentials")

// credError is an error of the credentials or TLS files, as its text says.
type credError struct{ err error }

func (e *credError) Error() string        { return e.err.Error() }
func (e *credError) Unwrap() error        { return e.err }
func (e *credError) Is(target error) bool { return target == ErrCredentials }

// authOptions returns the nats options for the credentials and TLS settings of opts.
func authOptions(opts Options) ([]nats.Option, error) {
	o, err := natsAuthOptions(opts)
	if err != nil {
		return nil, &credError{err}
	}
	return o, nil
}

func natsAuthOptions(opts Options) ([]nats.Option, error) {
	var o []nats.Option
	if opts.NkeyFile != "" && opts.CredsFile != "" {
		return nil, errors.New("give an nkey seed file or a credentials file, not both")
	}
	if opts.NkeyFile != "" {
		b, err := os.ReadFile(opts.NkeyFile)
		if err != nil {
			return nil, fmt.Errorf("nkey: %w", err)
		}
		kp, err := parseSeed(b)
		if err != nil {
			return nil, fmt.Errorf("nkey %s: %w", opts.NkeyFile, err)
		}
		pub, _ := kp.PublicKey()
		o = append(o, nats.Nkey(pub, func(nonce []byte) ([]byte, error) { return kp.Sign(nonce) }))
	}
	if opts.CredsFile != "" {
		if _, err := os.Stat(opts.CredsFile); err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
		o = append(o, nats.UserCredentials(opts.CredsFile))
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return nil, errors.New("a TLS client certificate needs both its certificate and its key")
	}
	if opts.TLSCert != "" {
		o = append(o, nats.ClientCert(opts.TLSCert, opts.TLSKey))
	}
	if opts.TLSCA != "" {
		o = append(o, nats.RootCAs(opts.TLSCA))
	}
	return o, nil
}

// denials hands the server's refusals of a connection's publications and subscriptions,
// which arrive on their own and not as the answer to a request, to whoever watches for them.
type denials struct {
	mu       sync.Mutex
	watchers map[*context.CancelCauseFunc]struct{}
}

func (d *denials) report(err error) {
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return
	}
	// "Permissions Violation for Publish to "$JS.API.STREAM.PURGE.MRUN_TASKS"", lowercased
	// up to the subject.
	msg := strings.TrimPrefix(err.Error(), nats.ErrPermissionViolation.Error()+": ")
	if i := strings.IndexByte(msg, '"'); i > 0 {
		msg = strings.ToLower(msg[:i]) + msg[i:]
	}
	cause := fmt.Errorf("%w: %s", ErrDenied, msg)
	d.mu.Lock()
	defer d.mu.Unlock()
	for w := range d.watchers {
		(*w)(cause)
	}
}

// WatchDenied returns a context derived from ctx that ends as soon as the server refuses
// an operation of this connection for its role; its cause, context.Cause, then wraps
// ErrDenied and names the subject. A refused operation otherwise only times out, as the
// server answers a forbidden request with silence.
func (c *Conn) WatchDenied(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	c.denied.mu.Lock()
	if c.denied.watchers == nil {
		c.denied.watchers = map[*context.CancelCauseFunc]struct{}{}
	}
	c.denied.watchers[&cancel] = struct{}{}
	c.denied.mu.Unlock()
	return ctx, func() {
		c.denied.mu.Lock()
		delete(c.denied.watchers, &cancel)
		c.denied.mu.Unlock()
		cancel(context.Canceled)
	}
}
