package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestStore_Write_Batched checks SQLite's group commit: writes that queue
// while another runs share its next transaction, each one as if it ran
// alone: in arrival order, seeing the ones before it, and a write that
// fails, panics or whose caller has gone leaves nothing while the others
// of the batch commit.
func TestStore_Write_Batched(t *testing.T) {
	s := storetest.MustOpen(t, store.SQLite)
	acct := storetest.MustAccount(t, s, "A")
	ctx := t.Context()
	add := func(tx *gorm.DB, name string) error {
		now := time.Now().UTC()
		return tx.Create(&models.Contact{AccountID: acct.ID, Name: name, CreatedAt: now, UpdatedAt: now}).Error
	}
	count := func(tx *gorm.DB, name string) (int64, error) {
		var n int64
		err := tx.Model(&models.Contact{}).Where("account_id = ? AND name = ?", acct.ID, name).Count(&n).Error
		return n, err
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		fn        func(tx *gorm.DB) error
		wantErr   error
		wantPanic bool
		kept      bool // whether its contact is there afterwards
	}{
		{name: "ok", ctx: ctx, fn: func(tx *gorm.DB) error { return add(tx, "ok") }, kept: true},
		{name: "fails after writing", ctx: ctx, fn: func(tx *gorm.DB) error {
			if err := add(tx, "fails after writing"); err != nil {
				return err
			}
			return store.ErrConflict
		}, wantErr: store.ErrConflict},
		{name: "caller gone", ctx: gone, fn: func(tx *gorm.DB) error { return add(tx, "caller gone") }, wantErr: context.Canceled},
		{name: "panics after writing", ctx: ctx, fn: func(tx *gorm.DB) error {
			if err := add(tx, "panics after writing"); err != nil {
				return err
			}
			panic("boom")
		}, wantPanic: true},
		{name: "sees the ones before it", ctx: ctx, fn: func(tx *gorm.DB) error {
			for name, want := range map[string]int64{"ok": 1, "fails after writing": 0, "panics after writing": 0} {
				if n, err := count(tx, name); err != nil || n != want {
					return fmt.Errorf("%d contacts named %q (%v), want %d", n, name, err, want)
				}
			}
			return add(tx, "sees the ones before it")
		}, kept: true},
	}

	// The first write holds the database until the others have queued
	// behind it, one after another, so that they make one batch in order.
	started, release, firstDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		firstDone <- s.WriteForTest(ctx, func(tx *gorm.DB) error {
			close(started)
			<-release
			return add(tx, "first")
		})
	}()
	<-started
	_, before := s.QueuedWritesForTest()
	type result struct {
		err      error
		panicked any
	}
	results := make([]chan result, len(tests))
	for i, tt := range tests {
		results[i] = make(chan result, 1)
		go func() {
			var r result
			defer func() {
				r.panicked = recover()
				results[i] <- r
			}()
			r.err = s.WriteForTest(tt.ctx, tt.fn)
		}()
		for queued, _ := s.QueuedWritesForTest(); queued != i+1; queued, _ = s.QueuedWritesForTest() {
			runtime.Gosched()
		}
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatalf("first write: %v", err)
	}
	got := make([]result, len(results))
	for i := range results {
		got[i] = <-results[i]
	}
	if _, after := s.QueuedWritesForTest(); after != before+1 {
		t.Errorf("the %d queued writes ran in %d transactions, want one", len(tests), after-before)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := got[i]
			switch {
			case tt.wantPanic && r.panicked != "boom":
				t.Errorf("panic = %v, want the write's own panic raised in its caller", r.panicked)
			case !tt.wantPanic && r.panicked != nil:
				t.Errorf("panic %v", r.panicked)
			case tt.wantErr == nil && r.err != nil:
				t.Errorf("err = %v, want none", r.err)
			case tt.wantErr != nil && !errors.Is(r.err, tt.wantErr):
				t.Errorf("err = %v, want %v", r.err, tt.wantErr)
			}
			var n int64
			if err := s.WriteForTest(ctx, func(tx *gorm.DB) (err error) {
				n, err = count(tx, tt.name)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int64{true: 1, false: 0}[tt.kept]; n != want {
				t.Errorf("%d contacts written, want %d", n, want)
			}
		})
	}
}
