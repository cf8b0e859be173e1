package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hookhost/hookhost/host/store"
)

// Webhook listing limits (see store.WebhookPage).
const (
	defaultWebhookLimit = 50
	maxWebhookLimit     = 500
	maxStatsIDs         = 500
	maxStatsBuckets     = 1000
)

// ListWebhooksPage returns one page of webhooks in creation order: at most
// p.Limit (default 50, at most 500), after p.AfterID, whose name holds
// p.Query (case-insensitive), among p.IDs when set. An unknown AfterID
// gives an empty page.
func (s *Store) ListWebhooksPage(ctx context.Context, p store.WebhookPage) ([]*store.Webhook, error) {
	if !store.ValidName(p.AfterID) || !store.ValidName(p.Query) {
		return []*store.Webhook{}, nil
	}
	limit := p.Limit
	switch {
	case limit <= 0:
		limit = defaultWebhookLimit
	case limit > maxWebhookLimit:
		limit = maxWebhookLimit
	}
	var (
		where []string
		args  []any
	)
	if p.AfterID != "" {
		args = append(args, p.AfterID)
		where = append(where, `(created_at, id) > (SELECT created_at, id FROM webhooks WHERE id = $`+strconv.Itoa(len(args))+`)`)
	}
	if p.Query != "" {
		args = append(args, strings.ToLower(p.Query))
		where = append(where, s.d.TextContains(`lower(name)`, `$`+strconv.Itoa(len(args))))
	}
	if p.IDs != nil {
		var marks []string
		for _, id := range p.IDs[:min(len(p.IDs), limit)] {
			if store.ValidName(id) {
				args = append(args, id)
				marks = append(marks, `$`+strconv.Itoa(len(args)))
			}
		}
		if len(marks) == 0 {
			return []*store.Webhook{}, nil
		}
		where = append(where, `id IN (`+strings.Join(marks, ", ")+`)`)
	}
	q := `SELECT ` + webhookCols + ` FROM webhooks`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, limit)
	q += ` ORDER BY created_at, id LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	out := []*store.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// WebhookStats counts the request records of each webhook of q.IDs (at most
// 500) created since q.Since, in q.Buckets buckets of q.Width, and reads
// each one's newest record.
func (s *Store) WebhookStats(ctx context.Context, q store.StatsQuery) (map[string]*store.WebhookStats, error) {
	if len(q.IDs) > maxStatsIDs || q.Buckets < 1 || q.Buckets > maxStatsBuckets || q.Width <= 0 {
		return nil, fmt.Errorf("webhook stats: at most %d ids, 1 to %d buckets of a positive width", maxStatsIDs, maxStatsBuckets)
	}
	out := make(map[string]*store.WebhookStats, len(q.IDs))
	var ids []string
	for _, id := range q.IDs {
		if store.ValidName(id) && out[id] == nil {
			out[id] = &store.WebhookStats{Requests: make([]int, q.Buckets), Errors: make([]int, q.Buckets)}
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	since := norm(q.Since)
	args := []any{s.tm(since), int64(q.Width.Seconds())}
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = `$` + strconv.Itoa(len(args))
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT webhook_id, `+s.d.Bucket("created_at", "$1", "$2")+` AS b, COUNT(*),
			SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END)
		FROM runs WHERE created_at >= $1 AND webhook_id IN (`+strings.Join(marks, ", ")+`)
		GROUP BY webhook_id, b`, args...)
	if err != nil {
		return nil, fmt.Errorf("webhook stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var b int64
		var n, errs int
		if err := rows.Scan(&id, &b, &n, &errs); err != nil {
			return nil, fmt.Errorf("webhook stats: %w", err)
		}
		if st := out[id]; st != nil && b >= 0 && b < int64(q.Buckets) {
			st.Requests[b] += n
			st.Errors[b] += errs
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("webhook stats: %w", err)
	}
	for _, id := range ids {
		st := out[id]
		err := s.db.QueryRowContext(ctx, `SELECT status, created_at FROM runs WHERE webhook_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, id).
			Scan(&st.LastStatus, timeCol{&st.LastAt})
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("webhook stats: %w", err)
		}
	}
	return out, nil
}
