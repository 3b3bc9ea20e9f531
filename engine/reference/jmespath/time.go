package jmespath

import (
	"strconv"
	"time"
)

// timeFunctions holds the clock for the functions that read the current time.
type timeFunctions struct {
	now func() time.Time
}

func rfc3339Arg(function string, a []any, index int) (time.Time, error) {
	str, err := stringArg(function, a, index)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339, str)
}

func durationArg(function string, a []any, index int) (time.Duration, error) {
	str, err := stringArg(function, a, index)
	if err != nil {
		return 0, err
	}
	return time.ParseDuration(str)
}

// since returns end-start as a duration string; layout "" means RFC 3339 and
// an empty end means now.
func (c timeFunctions) since(a []any) (any, error) {
	layout, err := stringArg("time_since", a, 0)
	if err != nil {
		return nil, err
	}
	start, err := stringArg("time_since", a, 1)
	if err != nil {
		return nil, err
	}
	end, err := stringArg("time_since", a, 2)
	if err != nil {
		return nil, err
	}
	if layout == "" {
		layout = time.RFC3339
	}
	t1, err := time.Parse(layout, start)
	if err != nil {
		return nil, err
	}
	t2 := c.now()
	if end != "" {
		if t2, err = time.Parse(layout, end); err != nil {
			return nil, err
		}
	}
	return t2.Sub(t1).String(), nil
}

func (c timeFunctions) nowLocal(_ []any) (any, error) {
	return c.now().Format(time.RFC3339), nil
}

func (c timeFunctions) nowUTC(_ []any) (any, error) {
	return c.now().UTC().Format(time.RFC3339), nil
}

// fnTimeToCron renders "minute hour day month weekday" in the time's zone.
func fnTimeToCron(a []any) (any, error) {
	t, err := rfc3339Arg("time_to_cron", a, 0)
	if err != nil {
		return nil, err
	}
	return strconv.Itoa(t.Minute()) + " " + strconv.Itoa(t.Hour()) + " " +
		strconv.Itoa(t.Day()) + " " + strconv.Itoa(int(t.Month())) + " " +
		strconv.Itoa(int(t.Weekday())), nil
}

// fnTimeAdd reports argument errors as time_to_cron, as Kyverno does.
func fnTimeAdd(a []any) (any, error) {
	t, err := rfc3339Arg("time_to_cron", a, 0)
	if err != nil {
		return nil, err
	}
	d, err := durationArg("time_to_cron", a, 1)
	if err != nil {
		return nil, err
	}
	return t.Add(d).Format(time.RFC3339), nil
}

// fnTimeParse parses ts with a Go layout, or as Unix seconds when the layout
// itself is an integer, and renders RFC 3339.
func fnTimeParse(a []any) (any, error) {
	layout, err := stringArg("time_parse", a, 0)
	if err != nil {
		return nil, err
	}
	ts, err := stringArg("time_parse", a, 1)
	if err != nil {
		return nil, err
	}
	if _, err := strconv.ParseInt(layout, 10, 64); err == nil {
		epoch, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return nil, err
		}
		return time.Unix(epoch, 0).UTC().Format(time.RFC3339), nil
	}
	t, err := time.Parse(layout, ts)
	if err != nil {
		return nil, err
	}
	return t.Format(time.RFC3339), nil
}

func fnTimeUTC(a []any) (any, error) {
	t, err := rfc3339Arg("time_utc", a, 0)
	if err != nil {
		return nil, err
	}
	return t.UTC().Format(time.RFC3339), nil
}

func twoTimes(function string, a []any) (time.Time, time.Time, error) {
	t1, err := rfc3339Arg(function, a, 0)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	t2, err := rfc3339Arg(function, a, 1)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return t1, t2, nil
}

func fnTimeDiff(a []any) (any, error) {
	t1, t2, err := twoTimes("time_diff", a)
	if err != nil {
		return nil, err
	}
	return t2.Sub(t1).String(), nil
}

func fnTimeBefore(a []any) (any, error) {
	t1, t2, err := twoTimes("time_before", a)
	if err != nil {
		return nil, err
	}
	return t1.Before(t2), nil
}

func fnTimeAfter(a []any) (any, error) {
	t1, t2, err := twoTimes("time_after", a)
	if err != nil {
		return nil, err
	}
	return t1.After(t2), nil
}

// fnTimeBetween is strict at both ends.
func fnTimeBetween(a []any) (any, error) {
	t, start, err := twoTimes("time_between", a)
	if err != nil {
		return nil, err
	}
	end, err := rfc3339Arg("time_between", a, 2)
	if err != nil {
		return nil, err
	}
	return t.After(start) && t.Before(end), nil
}

func fnTimeTruncate(a []any) (any, error) {
	t, err := rfc3339Arg("time_truncate", a, 0)
	if err != nil {
		return nil, err
	}
	d, err := durationArg("time_truncate", a, 1)
	if err != nil {
		return nil, err
	}
	return t.Truncate(d).Format(time.RFC3339), nil
}
