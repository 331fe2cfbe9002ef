package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progress counts tasks as the engine reports them and, on a terminal, draws a live line:
//
//	[=======>-----------] 4521/100001 done · 2 running · 0 failed · 61204 tasks/s · 0.1s
//
// The line appears only if the execution outlives liveDelay (unless --progress was given),
// so that quick commands print nothing but their results. When progress is on, a summary line
// of the same shape, without the bar, is printed at the end: it is also what --progress prints
// when stderr is not a terminal.
type progress struct {
	w        io.Writer
	live     bool // draw the live line
	summary  bool // print the summary line even if the live line never appeared
	delay    time.Duration
	begin    time.Time
	finished time.Time

	total, started, done, failed, skipped atomic.Int64
	cancelled                             atomic.Int64 // calls interrupted by --timeout or Ctrl-C: not failures of theirs
	cached                                atomic.Int64 // calls whose values came from the result cache
	stored                                atomic.Int64 // calls whose values were already in a cluster's store
	retried                               atomic.Int64 // failed attempts that ran again: not tasks

	mu     sync.Mutex // guards the fields below and writes to w
	p      *mpb.Progress
	bar    *mpb.Bar
	timer  *time.Timer
	quit   chan struct{}
	ended  bool
	drawn  bool // the live line was shown
	ticker sync.WaitGroup
}

const (
	liveDelay   = 300 * time.Millisecond
	liveRefresh = 100 * time.Millisecond
)

// newProgress prepares progress for total tasks. show says whether progress is on; tty whether
// w is a terminal; explicit whether the user asked for progress with --progress.
func newProgress(w io.Writer, tty, show, explicit bool, total int, begin time.Time) *progress {
	p := &progress{w: w, live: show && tty, summary: show && explicit, begin: begin, delay: liveDelay}
	if explicit {
		p.delay = 0
	}
	p.total.Store(int64(total))
	return p
}

// start arms the live line.
func (p *progress) start() {
	if p.live {
		p.timer = time.AfterFunc(p.delay, p.draw)
	}
}

// draw starts the live line.
func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	p.p = mpb.New(mpb.WithOutput(p.w), mpb.WithRefreshRate(liveRefresh), mpb.WithAutoRefresh())
	p.bar = p.p.New(0, mpb.BarStyle(),
		mpb.BarWidth(24),
		mpb.BarRemoveOnComplete(),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return " " + p.line(time.Now(), true) })),
	)
	p.drawn = true
	p.quit = make(chan struct{})
	p.ticker.Go(func() {
		t := time.NewTicker(liveRefresh / 2)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.bar.SetTotal(p.total.Load(), false)
				p.bar.SetCurrent(p.done.Load() + p.cached.Load() + p.stored.Load() + p.failed.Load() + p.cancelled.Load() + p.skipped.Load())
			}
		}
	})
}

// Write prints guest output: above the live line while it is drawn, straight to w otherwise.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.p != nil {
		return p.p.Write(b)
	}
	return p.w.Write(b)
}

// stop removes the live line and prints the summary line if progress is on.
func (p *progress) stop() {
	p.mu.Lock()
	p.ended = true
	p.finished = time.Now()
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.p != nil {
		close(p.quit)
		p.ticker.Wait()
		p.bar.SetTotal(-1, true)
		p.p.Wait()
		p.p = nil
	}
	if p.summary || p.drawn {
		fmt.Fprintln(p.w, p.line(p.finished, false))
	}
	p.mu.Unlock()
}

// line is the text of the progress line at time now. Calls whose values were already there
// (stored on a cluster, or in the result cache) count as done, and say so; they did not run,
// so the rate leaves them out. A run that reused values may need none of the calls below
// them: the summary line counts those as not needed.
func (p *progress) line(now time.Time, running bool) string {
	started := p.started.Load() // before the others, so that running is never overcounted
	ran, failed, skipped, cancelled := p.done.Load(), p.failed.Load(), p.skipped.Load(), p.cancelled.Load()
	cached, stored := p.cached.Load(), p.stored.Load()
	done, total := ran+cached+stored, p.total.Load()
	elapsed := now.Sub(p.begin)
	s := fmt.Sprintf("%d/%d done", done, total)
	if running {
		s += fmt.Sprintf(" · %d running", max(started-ran-failed-cancelled, 0))
	}
	s += fmt.Sprintf(" · %d failed", failed)
	if cancelled > 0 {
		s += fmt.Sprintf(" · %d cancelled", cancelled)
	}
	if skipped > 0 {
		s += fmt.Sprintf(" · %d skipped", skipped)
	}
	if stored > 0 {
		s += fmt.Sprintf(" · %d already stored", stored)
	}
	if cached > 0 {
		s += fmt.Sprintf(" · %d from the result cache", cached)
	}
	if n := total - done - failed - cancelled - skipped; !running && n > 0 && cached+stored > 0 && failed+cancelled == 0 {
		s += fmt.Sprintf(" · %d not needed", n)
	}
	if r := p.retried.Load(); r > 0 {
		if r == 1 {
			s += " · 1 retry"
		} else {
			s += fmt.Sprintf(" · %d retries", r)
		}
	}
	rate := 0.0
	if elapsed > 0 {
		rate = float64(ran+failed) / elapsed.Seconds()
	}
	return s + fmt.Sprintf(" · %.0f tasks/s · %s", rate, roundDuration(elapsed))
}

// roundDuration keeps three significant figures or so: 812ms, 1.52s, 2m3s.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Second)
}
