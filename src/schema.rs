// @generated automatically by Diesel CLI.

diesel::table! {
    equity_points (run_id, seq) {
        run_id -> Int8,
        seq -> Int4,
        ts -> Timestamptz,
        equity -> Numeric,
    }
}

diesel::table! {
    intermediate_values (run_id, step) {
        run_id -> Int8,
        step -> Int8,
        value -> Float8,
    }
}

diesel::table! {
    metric_directions (name, strategy_id) {
        strategy_id -> Int8,
        name -> Text,
        lower_is_better -> Bool,
    }
}

diesel::table! {
    metric_sets (id) {
        id -> Int8,
        names -> Array<Text>,
    }
}

diesel::table! {
    metric_summaries (name, dataset, strategy_id) {
        name -> Text,
        dataset -> Text,
        strategy_id -> Int8,
        runs -> Int8,
        mean -> Float8,
        median -> Float8,
        lowest -> Float8,
        highest -> Float8,
        parameter_sets -> Nullable<Int8>,
        period_sharpe_variance -> Nullable<Float8>,
    }
}

diesel::table! {
    metric_summary_changes (id) {
        id -> Int8,
        strategy_id -> Int8,
        dataset -> Text,
    }
}

diesel::table! {
    metrics (run_id, name) {
        run_id -> Int8,
        name -> Text,
        value -> Float8,
        strategy_id -> Int8,
        parameter_set_id -> Int8,
        dataset -> Text,
        completed -> Bool,
    }
}

diesel::table! {
    parameter_kinds (strategy_id, key, kind) {
        strategy_id -> Int8,
        key -> Text,
        kind -> Text,
    }
}

diesel::table! {
    parameter_sets (id) {
        id -> Int8,
        strategy_id -> Int8,
        params -> Jsonb,
        params_hash -> Bytea,
    }
}

diesel::table! {
    pooled_metric_summaries (name, strategy_id) {
        name -> Text,
        strategy_id -> Int8,
        runs -> Int8,
        mean -> Float8,
        median -> Float8,
        lowest -> Float8,
        highest -> Float8,
        parameter_sets -> Nullable<Int8>,
        period_sharpe_variance -> Nullable<Float8>,
    }
}

diesel::table! {
    runs (id) {
        id -> Int8,
        run_key -> Text,
        content_hash -> Bytea,
        strategy_id -> Int8,
        parameter_set_id -> Int8,
        sweep_id -> Nullable<Int8>,
        dataset -> Text,
        status -> Text,
        period_start -> Nullable<Timestamptz>,
        period_end -> Nullable<Timestamptz>,
        initial_capital -> Nullable<Numeric>,
        periods_per_year -> Float8,
        tags -> Array<Text>,
        recorded_at -> Timestamptz,
        supplied_metrics -> Nullable<Array<Text>>,
        strategy_spelling -> Nullable<Text>,
        trial -> Nullable<Int8>,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        directions -> Nullable<Jsonb>,
        search_space -> Nullable<Jsonb>,
        note -> Nullable<Text>,
        metric_set_id -> Nullable<Int8>,
        metric_values -> Nullable<Array<Float8>>,
    }
}

diesel::table! {
    strategies (id) {
        id -> Int8,
        name -> Text,
        version -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sweeps (id) {
        id -> Int8,
        name -> Text,
        created_at -> Timestamptz,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    trades (run_id, seq) {
        run_id -> Int8,
        seq -> Int4,
        symbol -> Text,
        side -> Text,
        quantity -> Numeric,
        entry_time -> Timestamptz,
        entry_price -> Numeric,
        exit_time -> Timestamptz,
        exit_price -> Numeric,
        fees -> Numeric,
        pnl -> Numeric,
        entry_tag -> Nullable<Text>,
        exit_reason -> Nullable<Text>,
        leverage -> Nullable<Numeric>,
    }
}

diesel::joinable!(metric_directions -> strategies (strategy_id));
diesel::joinable!(parameter_kinds -> strategies (strategy_id));
diesel::joinable!(parameter_sets -> strategies (strategy_id));
diesel::joinable!(runs -> metric_sets (metric_set_id));
diesel::joinable!(runs -> parameter_sets (parameter_set_id));
diesel::joinable!(runs -> strategies (strategy_id));
diesel::joinable!(runs -> sweeps (sweep_id));

diesel::allow_tables_to_appear_in_same_query!(
    equity_points,
    intermediate_values,
    metric_directions,
    metric_sets,
    metric_summaries,
    metric_summary_changes,
    metrics,
    parameter_kinds,
    parameter_sets,
    pooled_metric_summaries,
    runs,
    strategies,
    sweeps,
    trades,
);
