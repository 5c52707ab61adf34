-- Runs once, when the postgres container initialises an empty data volume
-- (docker-entrypoint-initdb.d). Each service owns one database on the shared server.
CREATE DATABASE riskwatch_customer;
CREATE DATABASE riskwatch_scoring;
CREATE DATABASE riskwatch_alerting;
CREATE DATABASE riskwatch_notify;
CREATE DATABASE riskwatch_gateway;
