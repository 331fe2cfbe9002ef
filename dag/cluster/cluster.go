// Package cluster runs an engine's calls on workers on other machines, through NATS
// JetStream: modules live in an Object Store by SHA-256, calls go through a work-queue stream
// that workers pull from as they have free slots, and results go to a Key-Value bucket keyed
// by Object key, from which the workers running dependent calls read them directly.
//
// A coordinator (a program that spawns and executes) connects with Connect and builds its
// engine with the connection's Executor and Store:
//
//	c, err := cluster.Connect(ctx, "nats://127.0.0.1:4222", cluster.Options{})
//	eng := dag.New(dag.Config{Executor: c.Executor(), Store: c.Store()})
//
// Workers run Conn.RunWorker (the mrun worker command). docs/distributed.md describes the
// streams, buckets and subjects, and what happens when a worker or the server fails.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the JetStream assets a cluster uses. Every coordinator and worker creates them if
// they are missing, with the same configuration.
const (
	TaskStream    = "MRUN_TASKS"    // work queue of calls to run
	TaskSubject   = "mrun.tasks"    // the subject calls are published to
	WorkerGroup   = "mrun-workers"  // the durable pull consumer every worker shares
	ResultBucket  = "mrun_results"  // Object key (hex) → value, or a reference into ValueStore
	ModuleStore   = "mrun_modules"  // module SHA-256 (hex) → module bytes
	ValueStore    = "mrun_values"   // values too large for a message
	WorkerBucket  = "mrun_workers"  // worker id → heartbeat, expiring after WorkerTTL
	AttemptBucket = "mrun_attempts" // attempt id → the error of a failed attempt, for an hour
	CancelSubject = "mrun.cancel"   // payload: the id of a call attempt to interrupt
	doneSubject   = "mrun.done."    // + coordinator id: completions of that coordinator's calls
)

// MaxReplicas is the most replicas JetStream keeps of a stream or bucket.
const MaxReplicas = 5

// WorkerTTL is how long a worker's heartbeat stays in WorkerBucket: a worker that has not
// written one for this long is gone.
const WorkerTTL = 10 * time.Second

// Options tune a connection. Zero values are the defaults.
type Options struct {
	// AckWait is how long a worker may hold a call without a heartbeat before JetStream
	// delivers it to another worker: the calls of a worker that dies run again within it.
	// Running calls heartbeat four times per AckWait, however long they run. Default 2 s.
	// AckWait and MaxDeliver configure the workers' consumer when this connection creates
	// it; when it exists already, its settings stay and the connection adopts them (a
	// consumer created with the former default of 30 s keeps it until it is deleted: a
	// connection changing it could cut under the heartbeats of workers already running).
	AckWait time.Duration
	// MaxDeliver is how many times a call is delivered before it fails for good. Default 5.
	MaxDeliver int
	// InlineMax is the largest value kept in the Key-Value bucket itself; larger values go
	// to the Object Store. Default 512 KiB (the server's default message limit is 1 MiB).
	InlineMax int
	// MaxQueued and MaxQueueBytes bound TaskStream: a publish past either fails ("maximum
	// messages exceeded") instead of the queue filling the server's disk. Defaults 1,000,000
	// calls and 256 MiB. Like the bound below, they configure the assets a connection
	// creates; the server reserves their sum (about 4.6 GiB by default) on its disk.
	MaxQueued, MaxQueueBytes int64
	// MaxStoreBytes bounds each of ResultBucket, ValueStore, ModuleStore and the argument
	// frames' store: a write past it fails until a prune makes room. Default 1 GiB.
	MaxStoreBytes int64
	// Name identifies this connection to the server and in worker listings.
	Name string
	// Replicas is how many servers of a cluster of servers keep a copy of each stream and
	// bucket this connection creates (it does not change existing ones): with 3, the
	// cluster carries on while one of three servers is down. At most MaxReplicas, and no
	// more than the servers in the cluster. Default 1.
	Replicas int

	// NkeyFile is a file holding the nkey seed to authenticate with, as mrun cluster up
	// writes one per role (see Role).
	NkeyFile string
	// CredsFile is a NATS credentials file (a user JWT and its seed), as a managed NATS
	// deployment hands out. At most one of NkeyFile and CredsFile is set.
	CredsFile string
	// TLSCA is a PEM file of the certificate authorities to trust for the server's
	// certificate, instead of the system's.
	TLSCA string
	// TLSCert and TLSKey are PEM files of a client certificate and its key, for a server that
	// asks for one.
	TLSCert, TLSKey string

	// ClusterTimeout is how long the connection waits out a server it cannot reach: calls
	// in flight, and calls started meanwhile, wait for it to come back, and fail with an
	// error that matches ErrUnreachable once it has been gone this long. Default 5 minutes.
	ClusterTimeout time.Duration
	// Logf, when set, receives one line (without a trailing newline) when the server has
	// been unreachable for a second, again every 10 seconds while it stays so, when it
	// is back, and when it came back without its state; and the NATS client's asynchronous
	// errors that the connection does not handle itself. mrun run and mrun call print them
	// on stderr.
	Logf func(format string, args ...any)
}

func (o Options) withDefaults() Options {
	if o.AckWait <= 0 {
		o.AckWait = defaultAckWait
	}
	if o.MaxDeliver <= 0 {
		o.MaxDeliver = 5
	}
	if o.InlineMax <= 0 {
		o.InlineMax = 512 << 10
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 1_000_000
	}
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = 256 << 20
	}
	if o.MaxStoreBytes <= 0 {
		o.MaxStoreBytes = 1 << 30
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.ClusterTimeout <= 0 {
		o.ClusterTimeout = 5 * time.Minute
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

// Conn is a connection to a cluster: a NATS connection with the JetStream assets set up.
type Conn struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	opts    Options
	tasks   jetstream.Stream
	results jetstream.KeyValue
	modules jetstream.ObjectStore
	values  jetstream.ObjectStore
	workers jetstream.KeyValue
	failed  jetstream.KeyValue
	frames  jetstream.ObjectStore
	denied  denials

	// coordinators holds the coordinators' heartbeats, budgets the nested calls' task
	// budgets; each is nil when these credentials may not use it.
	coordinators jetstream.KeyValue
	budgets      jetstream.KeyValue

	mu    sync.Mutex
	store *Store
	exec  *Executor

	url    string // as given to Connect, with any password redacted
	outage outages
}

// Connect connects to the NATS server at url (several may be given, separated by commas),
// binds to the streams and buckets the cluster needs, and creates those that are missing
// (which a client or worker of a server with credentials may not: there the server side
// creates them). The connection reconnects by itself after the server restarts.
//
// A server that refuses the credentials of opts fails Connect with an error wrapping
// ErrAuth. Messages show url with any password in it redacted.
func Connect(ctx context.Context, url string, opts Options) (*Conn, error) {
	return connect(ctx, url, opts, false)
}

// connect is Connect; with update, it also brings the configuration of existing streams
// and buckets up to date, as only the server side (an admin) may.
func connect(ctx context.Context, url string, opts Options, update bool, extra ...nats.Option) (*Conn, error) {
	opts = opts.withDefaults()
	if opts.Replicas > MaxReplicas {
		return nil, fmt.Errorf("cluster: connect to %s: %d replicas: JetStream keeps at most %d; lower cluster.Options.Replicas", Redact(url), opts.Replicas, MaxReplicas)
	}
	name := opts.Name
	if name == "" {
		name = "mrun"
	}
	auth, err := authOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to %s: %w", Redact(url), err)
	}
	c := &Conn{opts: opts, url: Redact(url)}
	nopts := append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false), nats.PingInterval(pingInterval),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { c.asyncError(err) }),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { c.down() }),
		nats.ReconnectHandler(func(*nats.Conn) { c.up() })},
		append(auth, extra...)...)
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		if errors.Is(err, nats.ErrAuthorization) {
			return nil, fmt.Errorf("cluster: connect to %s: %w (%s)", Redact(url), ErrAuth, strings.ToLower(err.Error()))
		}
		return nil, fmt.Errorf("cluster: connect to %s: %w", Redact(url), err)
	}
	c.nc = nc
	sctx, cancel := c.WatchDenied(ctx)
	// A server that goes away while the streams are set up, and stays away for
	// ClusterTimeout, ends the setup: its requests would otherwise be asked again forever.
	sctx, unreachable := context.WithCancelCause(sctx)
	go func() {
		for {
			changed := c.changes()
			if err := c.unreachable(); err != nil {
				unreachable(err)
				return
			}
			select {
			case <-changed:
			case <-sctx.Done():
				return
			}
		}
	}()
	err = c.setup(sctx, update)
	if cause := context.Cause(sctx); err != nil && errors.Is(cause, ErrUnreachable) {
		err = cause
	}
	unreachable(nil)
	if cause := context.Cause(sctx); err != nil && !errors.Is(err, ErrDenied) && errors.Is(cause, ErrDenied) {
		err = cause
	}
	cancel()
	if err != nil {
		c.outage.closing.Store(true)
		nc.Close()
		return nil, fmt.Errorf("cluster: set up JetStream on %s: %w", Redact(url), err)
	}
	c.outage.created = c.tasks.CachedInfo().Created
	return c, nil
}

// setup binds to the cluster's streams and buckets, creating the missing ones; with
// update, it creates or updates each.
func (c *Conn) setup(ctx context.Context, update bool) error {
	js, err := jetstream.New(c.nc)
	if err != nil {
		return err
	}
	c.js = js
	if c.tasks, err = ensure(ctx, update, jetstream.StreamConfig{
		Name:       TaskStream,
		Subjects:   []string{TaskSubject},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Duplicates: 2 * time.Minute,
		MaxMsgs:    c.opts.MaxQueued,
		MaxBytes:   c.opts.MaxQueueBytes,
		Discard:    jetstream.DiscardNew,
		Replicas:   c.opts.Replicas,
	}, func(ctx context.Context) (jetstream.Stream, error) { return js.Stream(ctx, TaskStream) },
		js.CreateStream, js.CreateOrUpdateStream, jetstream.ErrStreamNotFound); err != nil {
		return fmt.Errorf("stream %s: %w", TaskStream, err)
	}
	if err := c.setupConsumer(ctx); err != nil {
		return err
	}
	kv := func(cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
		cfg.Storage, cfg.Replicas = jetstream.FileStorage, c.opts.Replicas
		return ensure(ctx, update, cfg, func(ctx context.Context) (jetstream.KeyValue, error) { return js.KeyValue(ctx, cfg.Bucket) },
			js.CreateKeyValue, js.CreateOrUpdateKeyValue, jetstream.ErrBucketNotFound)
	}
	for _, b := range []struct {
		kv  *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&c.results, jetstream.KeyValueConfig{Bucket: ResultBucket, History: 1, MaxBytes: c.opts.MaxStoreBytes}},
		{&c.workers, jetstream.KeyValueConfig{Bucket: WorkerBucket, TTL: WorkerTTL, MaxBytes: 16 << 20}},
		{&c.failed, jetstream.KeyValueConfig{Bucket: AttemptBucket, TTL: time.Hour, MaxBytes: 256 << 20}},
	} {
		if *b.kv, err = kv(b.cfg); err != nil {
			return fmt.Errorf("bucket %s: %w", b.cfg.Bucket, err)
		}
	}
	for _, b := range []struct {
		os   *jetstream.ObjectStore
		name string
	}{{&c.modules, ModuleStore}, {&c.values, ValueStore}, {&c.frames, FrameStore}} {
		if *b.os, err = ensure(ctx, update, jetstream.ObjectStoreConfig{Bucket: b.name, Storage: jetstream.FileStorage, MaxBytes: c.opts.MaxStoreBytes, Replicas: c.opts.Replicas},
			func(ctx context.Context) (jetstream.ObjectStore, error) { return js.ObjectStore(ctx, b.name) },
			js.CreateObjectStore, js.CreateOrUpdateObjectStore, jetstream.ErrBucketNotFound); err != nil {
			return fmt.Errorf("object store %s: %w", b.name, err)
		}
	}
	// Optional: a connection whose credentials may not use it keeps no heartbeat as a
	// coordinator, and as a worker does not drop the calls of coordinators that are gone.
	if b, err := kv(jetstream.KeyValueConfig{Bucket: CoordinatorBucket, TTL: CoordinatorTTL, MaxBytes: 16 << 20}); err == nil {
		c.coordinators = b
	}
	// Optional too: without it, each call a worker runs has a task budget of its own.
	if b, err := kv(jetstream.KeyValueConfig{Bucket: BudgetBucket, TTL: time.Hour, MaxBytes: 64 << 20}); err == nil {
		c.budgets = b
	}
	return nil
}

// ensure binds to an existing asset, or creates it when it is missing (a concurrent
// creation with the same configuration succeeds); with update, it creates or updates it.
// Binding first lets a role that may not create or update assets connect to a cluster an
// admin has set up.
func ensure[C, A any](ctx context.Context, update bool, cfg C, bind func(context.Context) (A, error),
	create, createOrUpdate func(context.Context, C) (A, error), notFound error) (A, error) {
	withCfg := func(f func(context.Context, C) (A, error)) func(context.Context) (A, error) {
		return func(ctx context.Context) (A, error) { return f(ctx, cfg) }
	}
	if update {
		a, err := askLeader(ctx, withCfg(createOrUpdate))
		return a, storageShort(err)
	}
	a, err := askLeader(ctx, bind)
	if !errors.Is(err, notFound) {
		return a, err
	}
	a, err = askLeader(ctx, withCfg(create))
	if err != nil && errors.Is(context.Cause(ctx), ErrDenied) {
		return a, fmt.Errorf("it does not exist, and these credentials may not create it (start the server with 'mrun cluster up', or connect once with the admin's): %w", context.Cause(ctx))
	}
	return a, storageShort(err)
}

// storageShort explains the server's refusal to reserve an asset's size limit: JetStream
// reserves the limit of every stream and bucket on its disk, and by default offers three
// quarters of the disk space that was free when it started.
func storageShort(err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jsStorageResourcesExceeded || apiErr.ErrorCode == jsInsufficientResources) {
		return fmt.Errorf("%w: the server cannot reserve this asset's size limit on its disk (the streams and buckets reserve about 4.6 GiB by default); free disk space on the server (it offers 75%% of what is free when it starts), give it more JetStream storage (max_file_store), or lower cluster.Options.MaxStoreBytes and MaxQueueBytes", err)
	}
	return err
}

// JetStream's error codes for a server that cannot reserve the storage an asset asks for.
const (
	jsInsufficientResources    = 10023
	jsStorageResourcesExceeded = 10047
)

// maxWaiting is how many pull requests the workers' consumer keeps waiting: an idle worker
// keeps one for all its free slots, a busy one one per slot freed since its last request.
const maxWaiting = 4096

// setupConsumer creates the workers' consumer with this connection's AckWait and MaxDeliver,
// or, when it exists, adopts its settings: the first connection configures the cluster, and a
// later one with other options does not change it under the workers.
func (c *Conn) setupConsumer(ctx context.Context) error {
	bind := func(ctx context.Context) (jetstream.Consumer, error) { return c.tasks.Consumer(ctx, WorkerGroup) }
	cons, err := askLeader(ctx, bind)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = askLeader(ctx, func(ctx context.Context) (jetstream.Consumer, error) {
			return c.tasks.CreateConsumer(ctx, jetstream.ConsumerConfig{
				Durable:       WorkerGroup,
				AckPolicy:     jetstream.AckExplicitPolicy,
				AckWait:       c.opts.AckWait,
				MaxDeliver:    c.opts.MaxDeliver,
				MaxAckPending: -1,
				MaxWaiting:    maxWaiting,
			})
		})
		if errors.Is(err, jetstream.ErrConsumerExists) { // another connection was quicker
			cons, err = askLeader(ctx, bind)
		}
	}
	if err != nil {
		return fmt.Errorf("consumer %s: %w", WorkerGroup, err)
	}
	cfg := cons.CachedInfo().Config
	c.opts.AckWait, c.opts.MaxDeliver = cfg.AckWait, cfg.MaxDeliver
	return nil
}

// Close closes the connection. Its subscriptions and the Store's watcher end with it; the
// server forgets them without being asked, so closing is quick even when the server is gone.
func (c *Conn) Close() {
	c.outage.closing.Store(true)
	c.nc.Close()
	c.endOutage()
	c.mu.Lock()
	exec, store := c.exec, c.store
	c.mu.Unlock()
	if exec != nil {
		exec.close()
	}
	if store != nil {
		store.close()
	}
}

// Store returns the cluster's result store, shared with the workers: give it to the engine
// together with Executor. It is created on first use.
func (c *Conn) Store() *Store {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.store == nil {
		c.store = newStore(c, true)
	}
	return c.store
}

// Executor returns the executor that runs calls on the cluster's workers. It is created on
// first use.
func (c *Conn) Executor() *Executor {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exec == nil {
		c.exec = newExecutor(c)
	}
	return c.exec
}

// errClosed is returned by calls on a closed connection.
var errClosed = errors.New("cluster: connection closed")
