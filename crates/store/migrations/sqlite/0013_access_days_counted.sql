-- Days whose access-log rows have all been added to access_daily (once a day is over), so that
-- the statistics read a past day from its counts instead of scanning its rows again, and
-- retention deletes those rows without counting them twice.
CREATE TABLE access_days_counted (
    day         TEXT PRIMARY KEY,      -- YYYY-MM-DD (UTC)
    counted_at  TEXT NOT NULL
);
