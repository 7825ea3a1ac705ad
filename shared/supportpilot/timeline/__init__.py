"""One timeline per customer: logged phone calls, Amazon Connect contacts and imported helpdesk history."""
