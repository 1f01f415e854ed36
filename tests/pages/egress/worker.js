fetch('/items/6', {method: 'DELETE'});
