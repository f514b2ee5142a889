using nwdb from '../db/schema';

@path: '/odata/northwind'
service Northwind {
  entity Categories    as projection on nwdb.Categories;
  entity Products      as projection on nwdb.Products;
  entity Orders        as projection on nwdb.Orders;
  entity Order_Details as projection on nwdb.Order_Details;
  entity Notes         as projection on nwdb.Notes;
}
