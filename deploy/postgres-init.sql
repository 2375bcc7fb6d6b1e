-- Lift's own database, beside Temporal's.
CREATE ROLE lift LOGIN PASSWORD 'lift';
CREATE DATABASE lift OWNER lift;
