DROP TABLE equity_points;
