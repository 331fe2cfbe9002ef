package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// PruneStats counts what Prune removed, or with DryRun would remove.
type PruneStats struct {
	Results     int    // entries of ResultBucket
	Values      int    // objects of ValueStore (large values) and of FrameStore (argument frames a stopped coordinator left behind)
	ValueBytes  uint64 // their size
	KeptResults int    // entries of ResultBucket younger than the cutoff
	Modules     int    // modules of ModuleStore (with PruneOptions.Modules)
	ModuleBytes uint64 // their size
}

// PruneOptions say what Prune removes.
type PruneOptions struct {
	// OlderThan is the age, from when it was stored, past which a result goes. Zero removes
	// every result.
	OlderThan time.Duration
	// DryRun counts what would go without removing it.
	DryRun bool
	// Modules also removes the modules uploaded longer ago than OlderThan from ModuleStore.
	// A queued call needs its module, so Prune refuses while TaskStream holds any call
	// (queued or running); a coordinator uploads a module again when a later call needs it.
	Modules bool
}

// pruneAhead is how many removals Prune has in flight at once.
const pruneAhead = 64

// Prune removes the results stored longer ago than opts.OlderThan from ResultBucket and
// ValueStore, which otherwise keep every result forever (results are content-addressed, so
// a later run of the same call reuses them). A graph that runs meanwhile and needs a
// removed result computes it again if it has not planned yet, and fails with "input … is not
// in mrun_results" if it has: prune while no graph runs. Modules stay, unless opts.Modules.
func (c *Conn) Prune(ctx context.Context, opts PruneOptions) (PruneStats, error) {
	if opts.OlderThan < 0 {
		return PruneStats{}, fmt.Errorf("cluster: prune: negative age %v", opts.OlderThan)
	}
	cutoff := time.Now().Add(-opts.OlderThan)
	var st PruneStats
	var oldMods []string
	if opts.Modules {
		info, err := c.tasks.Info(ctx)
		if err != nil {
			return st, fmt.Errorf("cluster: prune: %s: %w", TaskStream, err)
		}
		if n := info.State.Msgs; n > 0 {
			return st, fmt.Errorf("cluster: prune: %d call(s) are queued or running, and modules stay while any is: prune modules when %s is empty, or without --modules", n, TaskStream)
		}
		mods, err := c.modules.List(ctx)
		if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
			return st, fmt.Errorf("cluster: prune: list %s: %w", ModuleStore, err)
		}
		for _, o := range mods {
			if o.ModTime.Before(cutoff) {
				oldMods = append(oldMods, o.Name)
				st.ModuleBytes += o.Size
			}
		}
		st.Modules = len(oldMods)
	}

	// Results: the watcher delivers every key's latest entry (headers only), then nil.
	w, err := c.results.WatchAll(ctx, jetstream.MetaOnly(), jetstream.IgnoreDeletes())
	if err != nil {
		return st, fmt.Errorf("cluster: prune: watch %s: %w", ResultBucket, err)
	}
	var old []string
	for e := range w.Updates() {
		if e == nil {
			break
		}
		if e.Created().Before(cutoff) {
			old = append(old, e.Key())
		} else {
			st.KeptResults++
		}
	}
	_ = w.Stop()
	if err := ctx.Err(); err != nil {
		return st, err
	}
	st.Results = len(old)

	// Values: each large value's object is named by its key, like its result entry.
	objs, err := c.values.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return st, fmt.Errorf("cluster: prune: list %s: %w", ValueStore, err)
	}
	var oldObjs []string
	for _, o := range objs {
		if o.ModTime.Before(cutoff) {
			oldObjs = append(oldObjs, o.Name)
			st.ValueBytes += o.Size
		}
	}
	frames, err := c.frames.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return st, fmt.Errorf("cluster: prune: list %s: %w", FrameStore, err)
	}
	var oldFrames []string
	for _, o := range frames {
		if o.ModTime.Before(cutoff) {
			oldFrames = append(oldFrames, o.Name)
			st.ValueBytes += o.Size
		}
	}
	st.Values = len(oldObjs) + len(oldFrames)
	if opts.DryRun {
		return st, nil
	}

	// The result entries go first: once one is gone no reader looks for its object.
	if err := parallel(ctx, len(old), pruneAhead, func(ctx context.Context, i int) error {
		if err := c.results.Purge(ctx, old[i]); err != nil {
			return fmt.Errorf("%s: %w", old[i], err)
		}
		return nil
	}); err != nil {
		return st, fmt.Errorf("cluster: prune %s: %w", ResultBucket, err)
	}
	c.mu.Lock()
	own := c.store
	c.mu.Unlock()
	if own != nil { // its watcher hears of the purges later: a read meanwhile must not find them
		own.forget(old)
	}
	if err := parallel(ctx, len(oldObjs), pruneAhead, func(ctx context.Context, i int) error {
		err := c.values.Delete(ctx, oldObjs[i])
		if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) { // not found: a coordinator deleted its frame meanwhile
			return fmt.Errorf("%s: %w", oldObjs[i], err)
		}
		return nil
	}); err != nil {
		return st, fmt.Errorf("cluster: prune %s: %w", ValueStore, err)
	}
	if err := parallel(ctx, len(oldFrames), pruneAhead, func(ctx context.Context, i int) error {
		err := c.frames.Delete(ctx, oldFrames[i])
		if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) { // not found: its coordinator deleted it meanwhile
			return fmt.Errorf("%s: %w", oldFrames[i], err)
		}
		return nil
	}); err != nil {
		return st, fmt.Errorf("cluster: prune %s: %w", FrameStore, err)
	}
	if err := parallel(ctx, len(oldMods), pruneAhead, func(ctx context.Context, i int) error {
		err := c.modules.Delete(ctx, oldMods[i])
		if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("%s: %w", oldMods[i], err)
		}
		return nil
	}); err != nil {
		return st, fmt.Errorf("cluster: prune %s: %w", ModuleStore, err)
	}
	return st, nil
}
