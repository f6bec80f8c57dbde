"""The operations portal for bank staff: sign-in, dashboard, transfers, actions, audit log
(see README "Running the portal")."""
