"""Space reservations: exam-prep seats, discussion rooms, the 3D cinema, research rooms."""
