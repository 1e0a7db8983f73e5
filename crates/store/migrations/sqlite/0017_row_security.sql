-- The keys PostgreSQL widens to the school with row-level security (issue 17, part 2), so that
-- the same statements name the same conflict targets on both. A SQLite database holds one
-- school: it has no roles and no row-level security, and its old keys still hold.
CREATE UNIQUE INDEX access_daily_school ON access_daily(school_id, day, source, group_name, verdict, category);
CREATE UNIQUE INDEX access_days_counted_school ON access_days_counted(school_id, day);
