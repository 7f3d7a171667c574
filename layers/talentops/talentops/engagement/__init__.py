"""What follows a send: SES's delivery, open and click events as facts on the bus."""
